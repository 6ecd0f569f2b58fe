"""The partial-batch runner of both queue consumers (investigations, digest jobs).

The records of a batch run in parallel threads (a batch of ten alerts to ten channels posts in the time of one),
and none starts once the invocation's deadline is near. Each record is parsed into its model
(sre_slack.contracts.lambda_events.QueueRecord) and its handler answers a `RecordOutcome`, which is turned into
what SQS needs here, once for both consumers:
- done: the record succeeds and SQS deletes it;
- retry: the record fails (batchItemFailures) and comes back after the queue's visibility timeout, or after
  `retry_after` seconds (Slack's Retry-After, the re-send backoff: the visibility is changed, nothing sleeps in
  Lambda); at its last receive (the queue's maxReceiveCount) it is dead-lettered instead, with its reason;
- dead letter: a copy goes to the function's dead-letter queue with the reason, and the record succeeds.

The answer follows Lambda's partial-batch rules (shared/README.md): `{"batchItemFailures": [{"itemIdentifier":
messageId}]}` for the records to retry, never an exception for the batch. Powertools' BatchProcessor does the same
sequentially; it is not used because its import (with asyncio and every event source's data classes) costs about
125 ms of each cold start, measured in bench/cold_start.py, and it runs records one after another.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sre_slack.contracts.lambda_events import QueueRecord
from sre_slack.observability import count, get_logger
from sre_slack.queues.dead_letter import DeadLetterQueueMissing, send_to_dead_letter_queue
from sre_slack.queues.visibility import delay_redelivery

# Kept free at the end of an invocation to record outcomes and answer Lambda.
SAFETY_MARGIN_SECONDS = 2.0
# A record is not started with less than this left: its first write and Slack call would not finish.
MIN_RECORD_SECONDS = 3.0
# SQS batches hold at most 10 records.
MAX_PARALLEL_RECORDS = 10
# A record that was not started comes back this soon instead of after the whole visibility timeout.
NOT_STARTED_RETRY_SECONDS = 1


@dataclass(frozen=True)
class Deadline:
    """The end of the usable part of an invocation, on the monotonic clock."""

    at: float

    @classmethod
    def from_context(cls, context: LambdaContext | None, margin: float = SAFETY_MARGIN_SECONDS) -> Deadline:
        remaining_ms = context.get_remaining_time_in_millis() if context is not None else 30_000
        return cls(time.monotonic() + remaining_ms / 1000 - margin)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def allows(self, seconds: float) -> bool:
        """Can something that takes up to `seconds` still finish before the deadline?"""
        return self.remaining() >= seconds

    def epoch(self) -> float:
        """The deadline as wall-clock time (what a lease stored in DynamoDB compares against)."""
        return time.time() + max(0.0, self.remaining())


class Outcome(StrEnum):
    DONE = "done"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class RecordOutcome:
    outcome: Outcome
    reason: str = ""
    # Seconds until the record should be received again (Slack's Retry-After); None keeps the queue's default.
    retry_after: int | None = None

    @staticmethod
    def done(reason: str = "") -> RecordOutcome:
        return RecordOutcome(Outcome.DONE, reason)

    @staticmethod
    def retry(reason: str, retry_after: int | None = None) -> RecordOutcome:
        return RecordOutcome(Outcome.RETRY, reason, retry_after)

    @staticmethod
    def dead_letter(reason: str) -> RecordOutcome:
        return RecordOutcome(Outcome.DEAD_LETTER, reason)


RecordHandler = Callable[[QueueRecord, Deadline], RecordOutcome]
# Called once per invocation: a batch's records may share state (the tenants' configuration, read once).
BatchHandler = Callable[[], RecordHandler]


@cache
def _record_pool() -> ThreadPoolExecutor:
    # Records wait on their own Slack calls (sre_slack.slack.pacing has a separate pool for those): one shared pool
    # could leave every thread waiting on work that has no thread left to run it.
    return ThreadPoolExecutor(max_workers=MAX_PARALLEL_RECORDS, thread_name_prefix="sqs-record")


class QueueConsumer:
    """A queue's consumer: the Lambda handler body, given a record handler per batch and the queues its outcomes
    need."""

    def __init__(self, new_batch: BatchHandler, *, queue_url: str, dead_letter_queue_url: str,
                 max_receive_count: int = 0) -> None:
        self.new_batch = new_batch
        self.queue_url = queue_url  # for ChangeMessageVisibility (Retry-After)
        self.dead_letter_queue_url = dead_letter_queue_url
        self.max_receive_count = max_receive_count

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        deadline = Deadline.from_context(context)
        handle = self.new_batch()
        records = event.get("Records") if isinstance(event, dict) else None
        futures = [(record, _record_pool().submit(contextvars.copy_context().run, self._run_raw, handle, record,
                                                   deadline))
                   for record in records or []]
        # An empty identifier (a record without messageId) fails the whole batch: Lambda retries all of it.
        failed = [record.get("messageId", "") for record, future in futures if future.result().outcome == Outcome.RETRY]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    def _run_raw(self, handle: RecordHandler, raw: dict[str, Any], deadline: Deadline) -> RecordOutcome:
        try:
            record = QueueRecord.model_validate(raw)
        except ValidationError:
            # Not an SQS record as Lambda sends them: nothing to dead-letter it with, so SQS keeps retrying it
            # and moves it to the dead-letter queue after maxReceiveCount.
            get_logger().exception("not an SQS record", message_id=raw.get("messageId"))
            return RecordOutcome.retry("unreadable record")
        return self._run(handle, record, deadline)

    def _run(self, handle: RecordHandler, record: QueueRecord, deadline: Deadline) -> RecordOutcome:
        logger = get_logger()
        if not deadline.allows(MIN_RECORD_SECONDS):
            outcome = RecordOutcome.retry("not started: the invocation's deadline is near", NOT_STARTED_RETRY_SECONDS)
        else:
            try:
                outcome = handle(record, deadline)
            except Exception as exc:  # a bug or an AWS outage: this record fails, the others carry on
                logger.exception("record failed", message_id=record.message_id)
                outcome = RecordOutcome.retry(f"unexpected {type(exc).__name__}")
        if outcome.outcome == Outcome.RETRY and self.max_receive_count and \
                record.receive_count >= self.max_receive_count:
            # SQS would move it on the next receive, without a reason: hand it over now, with one.
            outcome = RecordOutcome.dead_letter(
                f"still failing after {record.receive_count} receives: {outcome.reason}")
        if outcome.outcome == Outcome.DEAD_LETTER:
            outcome = self._dead_letter(record, outcome)
        if outcome.outcome == Outcome.RETRY:
            if outcome.retry_after:
                delay_redelivery(self.queue_url, record.receipt_handle, outcome.retry_after)
            logger.info("record will be retried", message_id=record.message_id, reason=outcome.reason,
                        retry_after=outcome.retry_after, receive_count=record.receive_count)
        return outcome

    def _dead_letter(self, record: QueueRecord, outcome: RecordOutcome) -> RecordOutcome:
        """Copy to the dead-letter queue now, with the reason: no wasted retries. Without a dead-letter queue the
        record fails on every receive until SQS moves it there after maxReceiveCount (the reason is logged)."""
        try:
            send_to_dead_letter_queue(self.dead_letter_queue_url, record.body, reason=outcome.reason,
                                      source_message_id=record.message_id)
        except DeadLetterQueueMissing:
            return RecordOutcome.retry(outcome.reason)
        get_logger().error("record copied to the dead-letter queue", message_id=record.message_id,
                           reason=outcome.reason, receive_count=record.receive_count)
        count("DeadLettered")
        return outcome
