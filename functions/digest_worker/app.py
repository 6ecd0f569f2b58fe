"""Digest worker (SQS digest queue, partial batch failures): builds and posts one tenant's digest per job.

A job that must be retried (Slack 5xx, 429, another invocation mid-post) fails only its own record; a 429
delays that record's next attempt to Slack's Retry-After. Skips (no installation, no digest routing, failing
channels) and permanent failures succeed the record with their reason logged: retrying cannot help them.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.digest.jobs import DigestJob
from sre_slack.digest.worker import run_job
from sre_slack.log import get_logger

logger = get_logger()
processor = BatchProcessor(event_type=EventType.SQS)


class RetryDigest(Exception):
    """Fails the record so SQS delivers the job again (and, after maxReceiveCount, to the DLQ)."""


def _delay(record: SQSRecord, seconds: int) -> None:
    from sre_slack.aws_clients import sqs
    from sre_slack.config import get_settings

    try:
        sqs().change_message_visibility(QueueUrl=get_settings().require("digest_queue_url"),
                                        ReceiptHandle=record.receipt_handle, VisibilityTimeout=min(seconds, 43_200))
    except Exception as exc:  # the queue's own visibility timeout still brings the job back
        logger.warning("could not delay the retry", error=type(exc).__name__)


def record_handler(record: SQSRecord) -> None:
    job = DigestJob.model_validate_json(record.body)
    outcome = run_job(job)
    summary = {c.channel: (str(c.status), c.reason) for c in outcome.channels}
    if outcome.needs_retry:
        if outcome.retry_after is not None:
            _delay(record, outcome.retry_after)
        raise RetryDigest(f"digest of {job.day.isoformat()} for {job.tenant_id} to be retried: {summary}")
    logger.info("digest job done", tenant_id=job.tenant_id, day=job.day.isoformat(),
                skipped=outcome.skipped_reason, channels=summary)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
