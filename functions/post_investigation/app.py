"""Investigation queue consumer: posts, updates and resolves investigation messages (sre_slack.delivery).

Records of a batch run in parallel (Powertools' AsyncBatchProcessor, each record on a worker thread); a
record that must come back later fails alone (ReportBatchItemFailures), after its visibility has been set to
Slack's Retry-After where Slack asked for one.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.delivery.pacing import Deadline, record_pool
from sre_slack.delivery.pipeline import Outcome, QueueRecord, change_visibility, process_record
from sre_slack.log import get_logger, get_metrics

logger = get_logger()
metrics = get_metrics()


class RetryLater(Exception):
    """Fails one record so SQS delivers it again."""


def _record_handler(deadline: Deadline):
    async def handle(record: SQSRecord) -> str:
        queued = QueueRecord(message_id=record.message_id, body=record.body,
                             receive_count=int(record.attributes.approximate_receive_count or 1))
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        outcome = await loop.run_in_executor(record_pool(), context.run, process_record, queued, deadline)
        if outcome.outcome == Outcome.RETRY:
            if outcome.retry_after:
                change_visibility(record.event_source_arn, record.receipt_handle, outcome.retry_after)
            logger.info("record will be retried", message_id=record.message_id, reason=outcome.reason,
                        retry_after=outcome.retry_after)
            raise RetryLater(outcome.reason)
        return str(outcome.outcome)

    return handle


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline = Deadline.from_remaining_ms(context.get_remaining_time_in_millis())
    # Every record failing is still an answer with batchItemFailures, never an exception that hides which.
    processor = AsyncBatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
    return async_process_partial_response(event=event, record_handler=_record_handler(deadline),
                                          processor=processor, context=context)
