"""Exactly one digest per channel per day: a marker claimed before posting and completed after.

`TENANT#<t>#DIGEST` / `DAY#<day>#CHANNEL#<c>` moves through these states:

    (absent) --claim--> posting --posted--> posted                 (final: a duplicate job posts nothing)
                          |  \\--failure, certainly not posted--> failed_retryable --claim--> posting ...
                          |   \\-failure--> failed_permanent        (final: channel gone, payload refused, ...)
                          \\-- maybe posted (internal_error, read timeout, ...), or stale (the worker died
                              mid-post) --> unknown --claim by an operator's redrive--> posting ...

The claim is one conditional UpdateItem, so two workers running the same job at once cannot both post.
Slack's chat.postMessage has no idempotency key, so an outcome can stay unknown: Slack answered with an error
after which the message may exist, or a worker died after claiming (its marker stays `posting`; older than
STALE_CLAIM_SECONDS, longer than the worker can run, it is stale). Such a marker is never claimed again
automatically: it becomes `unknown`, with `unknown_source` = the SQS message whose dead-letter copy an operator
may redrive; that redrive (and only that one, once) may claim it (docs/digest.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sre_slack.aws import dynamodb
from sre_slack.contracts.settings import get_settings
from sre_slack.storage import keys
from sre_slack.storage.items import from_item, to_attr, to_item

# The worker's Lambda timeout is 30 s; a claim older than this belongs to an invocation that no longer runs.
STALE_CLAIM_SECONDS = 120
# Markers are only needed while a job for that day can still arrive (SQS keeps a message at most 14 days).
MARKER_RETENTION_DAYS = 35


class MarkerStatus(StrEnum):
    POSTING = "posting"
    POSTED = "posted"
    FAILED_RETRYABLE = "failed_retryable"
    FAILED_PERMANENT = "failed_permanent"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim a channel's digest: `claimed`, or the state someone else left."""

    claimed: bool
    status: MarkerStatus | None = None
    ts: str | None = None
    reason: str | None = None
    claimed_at: int | None = None

    def stale(self, now: float | None = None) -> bool:
        """A `posting` claim left by an invocation that no longer runs (it died mid-post)."""
        at = time.time() if now is None else now
        return self.status == MarkerStatus.POSTING and (self.claimed_at or 0) < at - STALE_CLAIM_SECONDS


def _table() -> str:
    return get_settings().table_name


def _key(tenant_id: str, day: date, channel_id: str) -> dict[str, Any]:
    return to_item(keys.digest_marker_key(tenant_id, day, channel_id))


def _expires_at(day: date) -> int:
    return int(datetime.combine(day + timedelta(days=MARKER_RETENTION_DAYS), datetime.min.time(), UTC).timestamp())


def claim(tenant_id: str, day: date, channel_id: str, *, now: float | None = None,
          redriven_from: str | None = None) -> Claim:
    """Mark the channel's digest of `day` as being posted, unless it was posted, is being posted, failed for
    good or is unknown. `redriven_from` (the `source_message_id` of a redriven dead-letter copy) also claims an
    `unknown` marker left by that message, once. One request whatever the outcome (the existing marker comes
    back with the refusal)."""
    client = dynamodb()
    at = int(time.time() if now is None else now)
    condition = "attribute_not_exists(pk) OR #s = :retryable"
    values = {
        ":posting": to_attr(str(MarkerStatus.POSTING)),
        ":retryable": to_attr(str(MarkerStatus.FAILED_RETRYABLE)),
        ":now": to_attr(at),
        ":tenant": to_attr(tenant_id),
        ":day": to_attr(day.isoformat()),
        ":channel": to_attr(channel_id),
        ":ttl": to_attr(_expires_at(day)),
        ":one": to_attr(1),
    }
    if redriven_from:
        condition += " OR (#s = :unknown AND unknown_source = :source)"
        values |= {":unknown": to_attr(str(MarkerStatus.UNKNOWN)), ":source": to_attr(redriven_from)}
    try:
        client.update_item(
            TableName=_table(),
            Key=_key(tenant_id, day, channel_id),
            UpdateExpression="SET #s = :posting, claimed_at = :now, tenant_id = :tenant, #day = :day, "
                             "channel = :channel, #ttl = :ttl REMOVE reason, unknown_source ADD attempts :one",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status", "#day": "day", "#ttl": "ttl"},
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        old = from_item(exc.response.get("Item") or {})
        status = old.get("status")
        return Claim(
            claimed=False,
            status=MarkerStatus(status) if status in set(MarkerStatus) else None,
            ts=old.get("ts"),
            reason=old.get("reason"),
            claimed_at=old.get("claimed_at"),
        )
    return Claim(claimed=True, status=MarkerStatus.POSTING)


def mark_posted(tenant_id: str, day: date, channel_id: str, ts: str, *, now: float | None = None) -> None:
    dynamodb().update_item(
        TableName=_table(),
        Key=_key(tenant_id, day, channel_id),
        UpdateExpression="SET #s = :posted, ts = :ts, posted_at = :now",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":posted": to_attr(str(MarkerStatus.POSTED)),
            ":ts": to_attr(ts),
            ":now": to_attr(int(time.time() if now is None else now)),
        },
    )


def mark_failed(tenant_id: str, day: date, channel_id: str, reason: str, *, retryable: bool) -> None:
    status = MarkerStatus.FAILED_RETRYABLE if retryable else MarkerStatus.FAILED_PERMANENT
    dynamodb().update_item(
        TableName=_table(),
        Key=_key(tenant_id, day, channel_id),
        UpdateExpression="SET #s = :s, reason = :r, failed_at = :now",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":s": to_attr(str(status)),
            ":r": to_attr(reason),
            ":now": to_attr(int(time.time())),
        },
    )


def mark_unknown(tenant_id: str, day: date, channel_id: str, reason: str, *, source_message_id: str,
                 stale_only: bool = False, now: float | None = None) -> bool:
    """`posting` -> `unknown`: the digest may or may not be in the channel. With `stale_only`, only a claim older
    than STALE_CLAIM_SECONDS (its invocation died). False when the marker was no longer such a `posting`."""
    client = dynamodb()
    at = int(time.time() if now is None else now)
    condition = "#s = :posting"
    values = {":posting": to_attr(str(MarkerStatus.POSTING)), ":s": to_attr(str(MarkerStatus.UNKNOWN)),
              ":r": to_attr(reason), ":source": to_attr(source_message_id), ":now": to_attr(at)}
    if stale_only:
        condition += " AND claimed_at < :stale"
        values[":stale"] = to_attr(at - STALE_CLAIM_SECONDS)
    try:
        client.update_item(
            TableName=_table(),
            Key=_key(tenant_id, day, channel_id),
            UpdateExpression="SET #s = :s, reason = :r, unknown_source = :source, failed_at = :now",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def get_marker(tenant_id: str, day: date, channel_id: str) -> dict[str, Any] | None:
    """The marker as stored (for the CLI and operators); the worker itself never reads before claiming."""
    item = dynamodb().get_item(TableName=_table(), Key=_key(tenant_id, day, channel_id), ConsistentRead=True)
    return from_item(item["Item"]) if "Item" in item else None


__all__ = ["STALE_CLAIM_SECONDS", "Claim", "MarkerStatus", "claim", "get_marker", "mark_failed", "mark_posted",
           "mark_unknown"]
