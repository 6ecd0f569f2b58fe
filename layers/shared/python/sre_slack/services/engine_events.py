"""Outbound engine events: what each Slack action announces, and the one publisher that puts them on the bus.

The builders make the event of a change (a rating or comment, the acknowledgement, a re-investigation request);
the use case stores it in the outbox in the same write as the change (storage.outbox). The publisher is
EngineEventsFunction: the table's stream hands it every new outbox item (the event source mapping filters out
everything else), and it puts them on the bus in stream order. A refused entry is reported as the batch's
failure (`batchItemFailures`, its sequence number) and a failed call raises, so Lambda retries from there on;
past the mapping's retries the batch's coordinates land in EngineEventsFailureQueue (alarm), and invoking the
function with that message re-publishes the range (`replay`, docs/runbook.md). At least once, never lost;
consumers de-duplicate on `event_id` (docs/feedback-and-events.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sre_slack.contracts.engine_events import (
    EventUser,
    FeedbackRecorded,
    InvestigationAcknowledged,
    ReinvestigationRequested,
)
from sre_slack.contracts.lambda_events import StreamEvent, StreamFailure, StreamRecord
from sre_slack.contracts.settings import get_settings
from sre_slack.domain.event_ids import acknowledged_event_id, feedback_event_id, reinvestigation_event_id
from sre_slack.engine_bus.publisher import BusEntry, put_events
from sre_slack.observability import count, get_logger
from sre_slack.storage import outbox
from sre_slack.storage.acknowledgements import Acknowledgement
from sre_slack.storage.ratings import Rating

# --- what each change announces -----------------------------------------------------------------------------


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def _user(user_id: str, user_name: str | None) -> EventUser:
    # Slack sends the handle with every click; a row stored without one still names the user by id.
    return EventUser(id=user_id, name=user_name or user_id)


def feedback_recorded(row: Rating, cluster: str) -> FeedbackRecorded:
    """A rating as stored (new or changed), or the comment just added to it (`comment_seq` > 0)."""
    commented = row.comment_seq > 0
    return FeedbackRecorded(
        event_id=feedback_event_id(row.tenant_id, row.investigation_id, row.user_id, row.changes, row.comment_seq),
        tenant_id=row.tenant_id, investigation_id=row.investigation_id, cluster=cluster,
        user=_user(row.user_id, row.user_name),
        at=_moment(row.commented_at if commented and row.commented_at else row.rated_at),
        rating=row.rating,
        reason=row.reason if commented else None, comment=row.comment if commented else None,
    )


def acknowledged(ack: Acknowledgement, cluster: str) -> InvestigationAcknowledged:
    return InvestigationAcknowledged(
        event_id=acknowledged_event_id(ack.tenant_id, ack.investigation_id), tenant_id=ack.tenant_id,
        investigation_id=ack.investigation_id, cluster=cluster, user=_user(ack.user_id, ack.user_name),
        at=_moment(ack.acknowledged_at),
    )


def reinvestigation_requested(tenant_id: str, investigation_id: str, cluster: str, *, user_id: str,
                              user_name: str | None, click: str, at: datetime) -> ReinvestigationRequested:
    return ReinvestigationRequested(
        event_id=reinvestigation_event_id(tenant_id, investigation_id, user_id, click), tenant_id=tenant_id,
        investigation_id=investigation_id, cluster=cluster, user=_user(user_id, user_name),
        at=at.replace(microsecond=0),
    )


# --- the publisher ------------------------------------------------------------------------------------------


def handle_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """EngineEventsFunction: a stream batch (the event source mapping), or an on-failure message to re-publish."""
    if "DDBStreamBatchInfo" in event:
        return {"replayed": replay(StreamFailure.model_validate(event))}
    return publish_batch(StreamEvent.model_validate(event).records)


def publish_batch(records: Iterable[StreamRecord]) -> dict[str, Any]:
    """Put the batch's outbox events on the bus, in order; the partial batch answer names the first record that
    did not go (Lambda retries from it). A failed call raises: the whole batch is retried."""
    pending: list[tuple[StreamRecord, BusEntry]] = []
    broken: StreamRecord | None = None
    for record in records:
        try:
            entry = _entry(record)
        except outbox.MalformedEntry as exc:
            get_logger().error("outbox item without its event", reason=str(exc),
                               sequence_number=record.sequence_number)
            broken = record
            break
        if entry is not None:
            pending.append((record, entry))
    accepted = put_events(get_settings().require("engine_event_bus_name"), [e for _, e in pending]) if pending else 0
    if accepted:
        count("EngineEventsPublished", accepted)
    if accepted < len(pending):
        count("EngineEventsRefused", len(pending) - accepted)
        return _failed_from(pending[accepted][0])
    return _failed_from(broken) if broken is not None else {"batchItemFailures": []}


def replay(failure: StreamFailure) -> int:
    """Publish again the outbox events of a batch the event source mapping gave up on; how many were put.
    Raises when EventBridge still refuses one (invoke again once the cause is fixed)."""
    info = failure.batch
    records = [StreamRecord.model_validate(raw) for raw in outbox.stream_records(
        info.stream_arn, info.shard_id, info.start_sequence_number, info.end_sequence_number)]
    entries = [entry for record in records if (entry := _entry(record)) is not None]
    accepted = put_events(get_settings().require("engine_event_bus_name"), entries) if entries else 0
    get_logger().info("outbox range re-published", shard_id=info.shard_id, records=len(records), events=accepted)
    if accepted < len(entries):
        raise RuntimeError(f"EventBridge refused event {entries[accepted].event_id}; {accepted} of {len(entries)} put")
    count("EngineEventsReplayed", accepted)
    return accepted


def _entry(record: StreamRecord) -> BusEntry | None:
    if record.event_name != "INSERT":
        return None
    stored = outbox.entry_from_image(record.dynamodb.new_image)
    return BusEntry(stored.event_id, stored.detail_type, stored.detail) if stored is not None else None


def _failed_from(record: StreamRecord) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": record.sequence_number}]}
