"""Investigation queue consumer: posts, updates and resolves investigation messages (sre_slack.services.posting).

The records of a batch run in parallel, one worker thread each; a record that must come back later fails
alone (ReportBatchItemFailures), after its visibility has been set to Slack's Retry-After where Slack asked
for one. Partial batch responses are built here rather than with Powertools' (Async)BatchProcessor: the
rules are three lines (shared README, "AWS facts") and the batch utility with asyncio costs ~60 ms of every
cold start (bench/post_investigation.py).
"""

from __future__ import annotations

import contextvars
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger, get_metrics
from sre_slack.queues.dead_letter import redrive_of
from sre_slack.queues.visibility import delay_redelivery
from sre_slack.services.posting import (
    Outcome,
    QueueRecord,
    RecordOutcome,
    TenantConfigs,
    process_record,
)
from sre_slack.slack.pacing import Deadline, record_pool

logger = get_logger()
metrics = get_metrics()


def _process(record: dict[str, Any], deadline: Deadline, configs: TenantConfigs) -> RecordOutcome:
    queued = QueueRecord(message_id=record["messageId"], body=record.get("body") or "",
                         receive_count=int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1),
                         redrive=redrive_of(record.get("messageAttributes")))
    try:
        outcome = process_record(queued, deadline, configs)
    except Exception as exc:  # a bug or an AWS outage: this record fails, the others carry on
        logger.exception("record failed", message_id=queued.message_id)
        return RecordOutcome.retry(f"unexpected {type(exc).__name__}")
    if outcome.outcome == Outcome.RETRY:
        if outcome.retry_after:
            delay_redelivery(get_settings().require("investigation_queue_url"), record["receiptHandle"],
                             outcome.retry_after)
        logger.info("record will be retried", message_id=queued.message_id, reason=outcome.reason,
                    retry_after=outcome.retry_after)
    return outcome


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline = Deadline.from_remaining_ms(context.get_remaining_time_in_millis())
    records = event.get("Records") or []
    configs = TenantConfigs()
    futures = [(record, record_pool().submit(contextvars.copy_context().run, _process, record, deadline, configs))
               for record in records]
    failures = [{"itemIdentifier": record["messageId"]} for record, future in futures
                if future.result().outcome == Outcome.RETRY]
    return {"batchItemFailures": failures}
