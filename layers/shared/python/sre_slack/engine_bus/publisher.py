"""PutEvents on the engine bus: `Source` ai-sre.slack, one entry per outbound event, at most 10 per request.

`put_events` answers how many of the given entries EventBridge accepted, in order: entries after the first one it
refused are not counted even if accepted, so the caller can retry from that one without losing any (consumers
de-duplicate on `detail.event_id`, so putting an accepted entry again is harmless). It raises on a failed call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sre_slack import aws
from sre_slack.contracts.engine_events import SOURCE
from sre_slack.observability import get_logger

# EventBridge's limits per PutEvents request.
MAX_ENTRIES_PER_REQUEST = 10
MAX_REQUEST_BYTES = 256 * 1024


@dataclass(frozen=True)
class BusEntry:
    event_id: str
    detail_type: str
    detail: str  # JSON


def put_events(bus_name: str, entries: Sequence[BusEntry]) -> int:
    """Put `entries` in order; the number accepted before the first refused one. Raises when a call fails."""
    accepted = 0
    for chunk in _chunks(entries):
        answer = aws.client("events").put_events(Entries=[_request_entry(bus_name, entry) for entry in chunk])
        results: list[dict[str, Any]] = answer.get("Entries") or []
        for index, entry in enumerate(chunk):
            result = results[index] if index < len(results) else {"ErrorCode": "MissingResult"}
            if result.get("ErrorCode") or not result.get("EventId"):
                get_logger().warning("event refused by EventBridge", event_id=entry.event_id,
                                     detail_type=entry.detail_type, error_code=result.get("ErrorCode"),
                                     error_message=str(result.get("ErrorMessage") or "")[:200])
                return accepted
            accepted += 1
    return accepted


def _request_entry(bus_name: str, entry: BusEntry) -> dict[str, Any]:
    return {"EventBusName": bus_name, "Source": SOURCE, "DetailType": entry.detail_type, "Detail": entry.detail}


def _chunks(entries: Sequence[BusEntry]) -> list[list[BusEntry]]:
    chunks: list[list[BusEntry]] = []
    size = 0
    for entry in entries:
        entry_size = len(SOURCE) + len(entry.detail_type.encode()) + len(entry.detail.encode())
        if not chunks or len(chunks[-1]) == MAX_ENTRIES_PER_REQUEST or size + entry_size > MAX_REQUEST_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry_size
    return chunks
