"""Investigation queue consumer: posts, updates and resolves investigation messages (sre_slack.services.posting).

The records of a batch run in parallel; a record that must come back later fails alone (ReportBatchItemFailures),
after its visibility has been set to Slack's Retry-After where Slack asked for one (sre_slack.queues.batch).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger, get_metrics
from sre_slack.queues.batch import QueueConsumer, RecordHandler
from sre_slack.services.posting import TenantConfigs, post_record

logger = get_logger()
metrics = get_metrics()
settings = get_settings().check("table_name", "kms_key_id", "investigation_queue_url", "dead_letter_queue_url")


def new_batch() -> RecordHandler:
    configs = TenantConfigs()  # each tenant's configuration is read once per batch
    return lambda record, deadline: post_record(record, deadline, configs)


consumer = QueueConsumer(new_batch, queue_url=settings.investigation_queue_url,
                         dead_letter_queue_url=settings.dead_letter_queue_url,
                         max_receive_count=settings.max_receive_count)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
