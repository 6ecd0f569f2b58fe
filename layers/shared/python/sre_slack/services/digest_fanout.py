"""Digest jobs: which day a schedule event reports, and the fan-out of one job per tenant onto the digest queue.

A job is `{"tenant_id": ..., "day": "YYYY-MM-DD"}`. The day is decided once, by the scheduler, from the event's
`time` (CONTRACT.md), so a job that sits in the queue past midnight or is retried the next morning still reports
the day it was created for. Sending a job twice is harmless: the worker's per-channel markers dedupe.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# SendMessageBatch takes at most 10 entries.
SQS_BATCH_MAX = 10
# A batch entry SQS refused for a reason that can pass (throttling, internal error) is sent again this often.
SEND_ATTEMPTS = 3


class DigestJob(BaseModel):
    """One tenant's digest for one UTC day: the body of a digest queue message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(min_length=1, max_length=256)
    day: date

    def to_body(self) -> str:
        return self.model_dump_json()


class InvalidScheduleEvent(ValueError):
    """The event carries no usable `time`: nothing sensible can be reported."""


def event_time(event: dict[str, Any]) -> datetime:
    """The instant the schedule fired (`time`, ISO 8601 UTC), timezone-aware."""
    raw = event.get("time") if isinstance(event, dict) else None
    if not isinstance(raw, str) or not raw:
        raise InvalidScheduleEvent("the schedule event has no 'time'")
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidScheduleEvent(f"the schedule event's time is not ISO 8601: {raw!r}") from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def report_day(now: datetime) -> date:
    """The UTC calendar day before `now`: the day the digest reports."""
    utc = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return utc.date() - timedelta(days=1)


@dataclass
class EnqueueResult:
    sent: int = 0
    # Tenants whose job SQS still refused after SEND_ATTEMPTS, with SQS's error code.
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0


def _batches(tenants: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for tenant in tenants:
        batch.append(tenant)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def enqueue_jobs(tenants: Iterable[str], day: date, queue_url: str, *, sqs: Any = None) -> EnqueueResult:
    """Send one job per tenant, ten per SendMessageBatch call, streaming: tenants are not collected first.

    A tenant listed twice gets one job. Entries SQS refuses are sent again a few times; what still fails is
    reported, not raised, so that the caller decides (the scheduler fails the invocation and EventBridge retries).
    """
    if sqs is None:
        from sre_slack.aws import sqs as sqs_client

        sqs = sqs_client()
    result = EnqueueResult()
    seen: set[str] = set()

    def unique() -> Iterator[str]:
        for tenant in tenants:
            if tenant not in seen:
                seen.add(tenant)
                yield tenant

    for batch in _batches(unique(), SQS_BATCH_MAX):
        pending = {str(i): tenant for i, tenant in enumerate(batch)}
        errors: dict[str, str] = {}
        for _ in range(SEND_ATTEMPTS):
            response = sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": entry_id, "MessageBody": DigestJob(tenant_id=tenant, day=day).to_body()}
                         for entry_id, tenant in pending.items()],
            )
            result.requests += 1
            result.sent += len(response.get("Successful", []))
            failed = response.get("Failed", [])
            # A sender fault (bad entry) will not pass by sending again; anything else may.
            retry = {f["Id"]: pending[f["Id"]] for f in failed if not f.get("SenderFault")}
            errors = {pending[f["Id"]]: str(f.get("Code", "unknown")) for f in failed}
            for f in failed:
                if f.get("SenderFault"):
                    result.failed[pending[f["Id"]]] = str(f.get("Code", "unknown"))
            pending = retry
            if not pending:
                break
        for tenant in pending.values():
            result.failed[tenant] = errors.get(tenant, "unknown")
    return result


__all__ = ["DigestJob", "EnqueueResult", "InvalidScheduleEvent", "enqueue_jobs", "event_time", "report_day"]
