"""Bringing a failed SQS record back later than the queue's visibility timeout would (Slack's Retry-After).

The record still fails (batchItemFailures) and SQS delivers it again once the new visibility timeout has passed,
so nothing sleeps inside Lambda.
"""

from __future__ import annotations

from sre_slack import aws
from sre_slack.observability import get_logger

# SQS's ceiling for a message's visibility timeout (12 hours).
MAX_VISIBILITY_SECONDS = 43_200


def delay_redelivery(queue_url: str, receipt_handle: str, seconds: int) -> None:
    try:
        aws.client("sqs").change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle,
                                                    VisibilityTimeout=max(0, min(seconds, MAX_VISIBILITY_SECONDS)))
    except Exception as exc:  # the record still fails and comes back after the queue's own visibility timeout
        get_logger().warning("could not delay the redelivery", error=type(exc).__name__)
