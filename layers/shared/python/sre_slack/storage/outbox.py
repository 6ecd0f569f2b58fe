"""The outbox of the engine events: each event is written in the same transaction as the change it reports.

`TENANT#<t>#INV#<i>` / `OUTBOX#<event_id>` holds `event_id`, `detail_type` and `detail` (the event's JSON, as it
will be put on the bus), put with `attribute_not_exists`: a change can only ever write its event once, and a
retried change (same event id) writes nothing. The table's stream delivers every new outbox item to
EngineEventsFunction, the one publisher (docs/feedback-and-events.md). Items expire after `OUTBOX_TTL_SECONDS`;
nothing else reads them, so the investigation's Query skips them.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sre_slack import aws
from sre_slack.contracts.engine_events import EngineEvent
from sre_slack.storage import keys
from sre_slack.storage.table import TransactionFailed, from_item, table

# Long past the stream's 24 h and the publisher's retries: kept to re-publish by hand (docs/runbook.md).
OUTBOX_TTL_SECONDS = 14 * 86400
# GetRecords pages while re-reading a failed range.
STREAM_PAGE_LIMIT = 1000
# An open shard may answer empty pages before later records; this many in a row means the range is read.
STREAM_EMPTY_PAGES = 3


@dataclass(frozen=True)
class OutboxEntry:
    """One stored event, as the publisher puts it on the bus."""

    event_id: str
    detail_type: str
    detail: str  # JSON


class Recorded(enum.Enum):
    STORED = "stored"
    ALREADY_STORED = "already_stored"  # a retry of the same change: its event was written before
    UNKNOWN_INVESTIGATION = "unknown_investigation"


def outbox_item(event: EngineEvent, *, now: float | None = None) -> dict[str, Any]:
    moment = int(now if now is not None else time.time())
    return {**keys.outbox_key(event.tenant_id, event.investigation_id, event.event_id), "event_id": event.event_id,
            "detail_type": event.detail_type, "detail": event.to_detail(), "created_at": moment,
            "ttl": moment + OUTBOX_TTL_SECONDS}


def put_action(event: EngineEvent) -> dict[str, Any]:
    """The transaction action writing `event` once (fails its condition when the event id was written before)."""
    return table().put_action(outbox_item(event), condition="attribute_not_exists(pk)")


def record_event(event: EngineEvent) -> Recorded:
    """Store an event that is a change of its own (a re-investigation request), for an investigation that was posted."""
    slack_table = table()
    try:
        slack_table.transact([
            slack_table.check_action(keys.seen_key(event.tenant_id, event.investigation_id), "attribute_exists(pk)"),
            put_action(event),
        ])
    except TransactionFailed as exc:
        return Recorded.UNKNOWN_INVESTIGATION if exc.failed_at(0) else Recorded.ALREADY_STORED
    return Recorded.STORED


class MalformedEntry(ValueError):
    """An outbox item without its event (a bug: only `put_action` writes them)."""


def entry_from_image(image: Mapping[str, Any]) -> OutboxEntry | None:
    """The outbox entry in a stream record's `NewImage` (DynamoDB JSON); None when the item is not an outbox item.
    Raises MalformedEntry for an outbox item that lacks its event."""
    values = from_item(image)
    if not str(values.get("sk", "")).startswith(keys.OUTBOX_PREFIX):
        return None
    event_id, detail_type, detail = values.get("event_id"), values.get("detail_type"), values.get("detail")
    if not all(isinstance(value, str) and value for value in (event_id, detail_type, detail)):
        raise MalformedEntry(f"outbox item {values.get('sk')!r} lacks its event")
    return OutboxEntry(str(event_id), str(detail_type), str(detail))


def stream_records(stream_arn: str, shard_id: str, first: str, last: str) -> Iterator[dict[str, Any]]:
    """The stream's records from sequence number `first` to `last` (both included) of one shard, as GetRecords
    returns them: how a batch the publisher gave up on is read again (within the stream's 24 h)."""
    streams = aws.client("dynamodbstreams")
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id,
                                          ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=first)["ShardIterator"]
    empty = 0
    while iterator and empty < STREAM_EMPTY_PAGES:
        page = streams.get_records(ShardIterator=iterator, Limit=STREAM_PAGE_LIMIT)
        records = page.get("Records", [])
        for record in records:
            number = int(record["dynamodb"]["SequenceNumber"])
            if number > int(last):
                return
            yield record
            if number == int(last):
                return
        empty = 0 if records else empty + 1
        iterator = page.get("NextShardIterator")
