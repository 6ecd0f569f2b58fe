"""Digest worker (SQS digest queue, partial batch failures): builds and posts one tenant's digest per job.

A job that must be retried (Slack 503, 429, another invocation mid-post) fails only its own record; a 429
delays that record's next attempt to Slack's Retry-After. Skips (no installation, no digest routing, failing
channels) and permanent failures succeed the record with their reason logged: retrying cannot help them.
A post whose outcome is unknown (internal_error, read timeout, a stale claim) is never retried: the job is
copied to the dead-letter queue with the channels (`settle_unknowns`) and the record succeeds; an operator's
redrive of that copy posts those channels once more. An invalid job goes to the dead-letter queue at once.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger, get_metrics
from sre_slack.queues.dead_letter import DeadLetterQueueMissing, redrive_of, send_to_dead_letter_queue
from sre_slack.queues.visibility import delay_redelivery
from sre_slack.services.digest import run_job, settle_unknowns
from sre_slack.services.digest_fanout import DigestJob

logger = get_logger()
metrics = get_metrics()
# Every job of a batch failing is still a partial-batch answer (all items listed), not an invocation error with
# a traceback: SQS brings each job back the same way either way.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class RetryDigest(Exception):
    """Fails the record so SQS delivers the job again (and, after maxReceiveCount, to the DLQ)."""


def record_handler(record: SQSRecord) -> None:
    try:
        job = DigestJob.model_validate_json(record.body)
    except ValidationError as exc:
        reason = f"invalid digest job: {exc.errors(include_url=False, include_input=False)}"
        logger.error("invalid digest job", message_id=record.message_id, reason=reason)
        try:
            send_to_dead_letter_queue(record.body, reason=reason, source_message_id=record.message_id)
        except DeadLetterQueueMissing:
            raise RetryDigest(reason) from exc
        return
    outcome = run_job(job, redrive=redrive_of(record.raw_event.get("messageAttributes")))
    summary = {c.channel: (str(c.status), c.reason) for c in outcome.channels}
    try:
        settle_unknowns(outcome, body=record.body, message_id=record.message_id)
    except DeadLetterQueueMissing as exc:
        # The markers stay `posting` and go stale; SQS retries, then moves the job after maxReceiveCount.
        raise RetryDigest(f"digest outcome unknown and no dead-letter queue: {summary}") from exc
    if outcome.needs_retry:
        if outcome.retry_after is not None:
            delay_redelivery(get_settings().require("digest_queue_url"), record.receipt_handle,
                             outcome.retry_after)
        raise RetryDigest(f"digest of {job.day.isoformat()} for {job.tenant_id} to be retried: {summary}")
    logger.info("digest job done", tenant_id=job.tenant_id, day=job.day.isoformat(),
                skipped=outcome.skipped_reason, channels=summary)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
