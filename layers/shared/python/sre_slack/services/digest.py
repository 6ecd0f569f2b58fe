"""One tenant's daily digest, posted once per channel (the jobs come from sre_slack.services.digest_schedule).

Each channel's digest is a ledger delivery (`TENANT#<t>#DIGEST` / `DAY#<day>#CHANNEL#<c>`), claimed before
posting, so a duplicate job posts nothing. A job for a tenant whose digest goes to one channel costs one Query for
installation + routing + channel health, one for eight days of counters, one for the day's resolved investigations
(time to resolve), the claim before and the `posted` write after the post. Every Slack outcome is handled by the
shared delivery path and policy (sre_slack.services.delivery), the same as investigations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pydantic import ValidationError

from sre_slack.blocks.digest import build_digest_message
from sre_slack.blocks.message import SlackMessage
from sre_slack.contracts.digest import DigestJob
from sre_slack.contracts.lambda_events import QueueRecord
from sre_slack.contracts.settings import get_settings
from sre_slack.domain.delivery_policy import Call, DeliveryStatus
from sre_slack.domain.digest_stats import Digest, build_digest
from sre_slack.domain.routing import resolve_digest_channels
from sre_slack.observability import get_logger
from sre_slack.queues.batch import Deadline, RecordOutcome
from sre_slack.services import delivery
from sre_slack.services.delivery import Job, SlackSession
from sre_slack.storage import keys, ledger, resolutions
from sre_slack.storage.digest_counts import read_day_counts
from sre_slack.storage.tenant_config import load_tenant_config

# Digest deliveries are only needed while a job for that day can still arrive (SQS keeps a message 14 days).
MARKER_RETENTION_DAYS = 35
IN_FLIGHT_RETRY_SECONDS = 30



@dataclass
class DigestRun:
    """What one job came to, per channel (for the log line and the local CLI)."""

    tenant_id: str
    day: date
    skipped_reason: str | None = None
    channels: dict[str, str] = field(default_factory=dict)
    digest: Digest | None = None
    message: SlackMessage | None = None


def marker_key(tenant_id: str, day: date, channel: str) -> dict[str, str]:
    return keys.digest_marker_key(tenant_id, day, channel)


def _marker_extra(tenant_id: str, day: date) -> dict[str, object]:
    expires = datetime.combine(day + timedelta(days=MARKER_RETENTION_DAYS), datetime.min.time(), UTC)
    return {"tenant_id": tenant_id, "day": day.isoformat(), "ttl": int(expires.timestamp())}


def post_digest_record(record: QueueRecord, deadline: Deadline) -> RecordOutcome:
    """One record of the digest queue, end to end."""
    logger = get_logger()
    try:
        job = DigestJob.model_validate_json(record.body)
    except ValidationError as exc:
        reason = f"invalid digest job: {exc.errors(include_url=False, include_input=False)}"
        logger.error("invalid digest job", message_id=record.message_id, reason=reason)
        return RecordOutcome.dead_letter(reason)
    run, outcome = post_digest(job, deadline)
    logger.info("digest job done", tenant_id=job.tenant_id, day=job.day.isoformat(), skipped=run.skipped_reason,
                channels=run.channels, outcome=str(outcome.outcome))
    return outcome


def post_digest(job: DigestJob, deadline: Deadline) -> tuple[DigestRun, RecordOutcome]:
    """Build and post the digest of `job.day` for `job.tenant_id` to each of its digest channels, once each."""
    logger = get_logger()
    tenant, day = job.tenant_id, job.day
    run = DigestRun(tenant, day)
    config = load_tenant_config(tenant)
    installation = config.installation
    if installation is None:
        return _skip(run, "no_installation")
    if not installation.is_active:
        return _skip(run, f"installation_{installation.status}")
    try:
        routing = config.routing
    except ValidationError as exc:  # a stored document that no longer validates
        logger.warning("stored routing document is invalid", tenant_id=tenant, error=str(exc)[:500])
        return _skip(run, "invalid_routing_document")
    channels = resolve_digest_channels(routing)
    if not channels:
        return _skip(run, "no_digest_routing")

    postable: list[str] = []
    for channel in dict.fromkeys(channels):
        health = config.channel_health.get(channel)
        if health is not None and health.permanent:
            reason = f"channel_failing: {health.reason or health.status}"
            run.channels[channel] = f"skipped: {reason}"
            logger.info("digest channel skipped", tenant_id=tenant, day=day.isoformat(), channel=channel,
                        reason=reason)
        else:
            postable.append(channel)
    if not postable:
        return _skip(run, "all_digest_channels_failing")

    digest = run.digest = build_digest(day, read_day_counts(tenant, day),
                                       resolutions=resolutions.read_day(tenant, day))
    portal_url = get_settings().portal_url or None
    run.message = build_digest_message(digest, portal_url=portal_url)
    jobs: list[Job] = []
    waiting: list[str] = []
    for channel in postable:
        key = marker_key(tenant, day, channel)
        attempt = delivery.lease_for(deadline)
        claim = ledger.claim(key, channel, attempt, when_absent=True, extra=_marker_extra(tenant, day))
        if claim.claimed:
            jobs.append(Job(Call.POST, key, channel, attempt=attempt, resend=claim.resend))
            continue
        current = claim.current
        status = current.status if current is not None else None
        if status == DeliveryStatus.POSTING:
            waiting.append(channel)  # a live lease: another invocation is posting it right now
            run.channels[channel] = "in_progress"
        elif status == DeliveryStatus.POSTED:
            run.channels[channel] = "already posted"
        else:
            run.channels[channel] = f"skipped: {status}: {current.reason if current else ''}"

    messages = delivery.labelled_when_resent(
        lambda resent: build_digest_message(digest, portal_url=portal_url, resent=resent))
    results = delivery.run_jobs(SlackSession(tenant, installation), jobs, messages, deadline, what="digest",
                                parallel=False)
    for result in results:
        run.channels[result.job.channel] = str(result.result.outcome)
    return run, delivery.record_outcome(results, waiting=waiting, in_flight_retry_seconds=IN_FLIGHT_RETRY_SECONDS)


def _skip(run: DigestRun, reason: str) -> tuple[DigestRun, RecordOutcome]:
    get_logger().info("digest skipped", tenant_id=run.tenant_id, day=run.day.isoformat(), reason=reason)
    run.skipped_reason = reason
    return run, RecordOutcome.done(f"skipped: {reason}")
