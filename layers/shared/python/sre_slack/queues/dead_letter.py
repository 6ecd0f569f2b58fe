"""The function's dead-letter queue, written by the function itself: a copy of the SQS message with its reason.

Two kinds of messages end there (docs/posting.md, docs/digest.md):
- a message that can never be processed (malformed): at once, with the validation error as `reason`;
- a message still failing at the last receive its queue allows (maxReceiveCount): with the last failure as
  `reason`, instead of the copy SQS would make on the next receive, which carries none.
An operator redrives the copies to the source queue (StartMessageMoveTask, docs/runbook.md). A redriven message is
processed like any other: what was posted is not posted again, and a post whose outcome was unknown is re-sent
with the re-sent line.

The queue is the function's own DEAD_LETTER_QUEUE_URL (Settings.dead_letter_queue_url).
"""

from __future__ import annotations

from sre_slack import aws

REASON = "reason"
SOURCE_MESSAGE_ID = "source_message_id"
# SQS caps a message with its attributes at 256 KB; the body is the original message, the reason stays short.
REASON_MAX_CHARS = 1000


class DeadLetterQueueMissing(RuntimeError):
    """The function has no DEAD_LETTER_QUEUE_URL: the copy cannot be made (the record must fail instead)."""


def send_to_dead_letter_queue(queue_url: str, body: str, *, reason: str, source_message_id: str) -> str:
    """Copy `body` to the dead-letter queue with `reason` and `source_message_id` attributes. Returns the copy's
    message id; raises `DeadLetterQueueMissing` without a queue URL."""
    if not queue_url:
        raise DeadLetterQueueMissing("DEAD_LETTER_QUEUE_URL is not set")
    attributes = {
        REASON: {"DataType": "String", "StringValue": reason[:REASON_MAX_CHARS] or "unknown"},
        SOURCE_MESSAGE_ID: {"DataType": "String", "StringValue": source_message_id},
    }
    response = aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes)
    return str(response.get("MessageId", ""))
