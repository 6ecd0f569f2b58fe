"""The function's dead-letter queue, written by the function itself: a copy of the SQS message with the reason
attached, and the operator's way back (a redrive of that copy).

Two kinds of messages end there with a reason (docs/posting.md, docs/digest.md):
- a message that can never be processed (malformed): `reason` says why;
- a message whose post may or may not have reached Slack (`internal_error`, a read timeout, an invocation that
  died mid-post): `reason` starts with `delivery_unknown`, `unknown_channels` lists the channels. Nothing is
  posted again automatically (Slack has no idempotency key). An operator who checked those channels and found
  the message missing redrives the copy to the source queue (StartMessageMoveTask keeps message attributes);
  the pipelines then post it once more to the listed channels, and only if they are still `unknown` with the
  same `source_message_id` (the redrive consumes it: a second redrive posts nothing).

The queue is the function's own DEAD_LETTER_QUEUE_URL (Settings.dead_letter_queue_url).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sre_slack import aws

REASON = "reason"
SOURCE_MESSAGE_ID = "source_message_id"
UNKNOWN_CHANNELS = "unknown_channels"
# The `reason` prefix of a copy whose post may have reached Slack; a message redriven with it may post again.
DELIVERY_UNKNOWN = "delivery_unknown"
# SQS caps a message with its attributes at 256 KB; the body is the original message, the reason stays short.
REASON_MAX_CHARS = 1000


class DeadLetterQueueMissing(RuntimeError):
    """The function has no DEAD_LETTER_QUEUE_URL: the copy cannot be made (the record must fail instead)."""


def send_to_dead_letter_queue(queue_url: str, body: str, *, reason: str, source_message_id: str,
                              unknown_channels: Iterable[str] = ()) -> str:
    """Copy `body` to the dead-letter queue with `reason`, `source_message_id` and (when given) `unknown_channels`
    attributes. Returns the copy's message id; raises `DeadLetterQueueMissing` without a queue URL."""
    if not queue_url:
        raise DeadLetterQueueMissing("DEAD_LETTER_QUEUE_URL is not set")
    attributes: dict[str, dict[str, str]] = {
        REASON: {"DataType": "String", "StringValue": reason[:REASON_MAX_CHARS]},
        SOURCE_MESSAGE_ID: {"DataType": "String", "StringValue": source_message_id},
    }
    channels = ",".join(dict.fromkeys(unknown_channels))
    if channels:  # SQS refuses empty attribute values
        attributes[UNKNOWN_CHANNELS] = {"DataType": "String", "StringValue": channels}
    response = aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes)
    return str(response.get("MessageId", ""))


def delivery_unknown_reason(errors_by_channel: Mapping[str, str]) -> str:
    """`delivery_unknown: internal_error on C0ALERTS; stale_claim on C0OPS` — what an operator reads first."""
    parts = [f"{error} on {channel}" for channel, error in errors_by_channel.items()]
    return f"{DELIVERY_UNKNOWN}: " + "; ".join(parts)


@dataclass(frozen=True)
class Redrive:
    """A message an operator moved back from the dead-letter queue after checking its `unknown` channels."""

    source_message_id: str
    channels: frozenset[str]

    def allows(self, channel: str) -> bool:
        return channel in self.channels


def redrive_of(attributes: Mapping[str, str]) -> Redrive | None:
    """The redrive a record carries, from its message attributes' string values; None for every ordinary message,
    and for dead-lettered copies of any other kind (malformed messages)."""
    if not attributes.get(REASON, "").startswith(DELIVERY_UNKNOWN):
        return None
    source = attributes.get(SOURCE_MESSAGE_ID, "")
    channels = frozenset(c.strip() for c in attributes.get(UNKNOWN_CHANNELS, "").split(",") if c.strip())
    if not source or not channels:
        return None
    return Redrive(source, channels)
