"""Digest worker (SQS digest queue, partial batch failures): builds and posts one tenant's digest per job
(sre_slack.services.digest), through the same batch runner and delivery policy as investigations."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger, get_metrics
from sre_slack.queues.batch import QueueConsumer, RecordHandler
from sre_slack.services.digest import post_digest_record

logger = get_logger()
metrics = get_metrics()
settings = get_settings().check("table_name", "kms_key_id", "digest_queue_url", "dead_letter_queue_url")


def new_batch() -> RecordHandler:
    return post_digest_record


consumer = QueueConsumer(new_batch, queue_url=settings.digest_queue_url,
                         dead_letter_queue_url=settings.dead_letter_queue_url,
                         max_receive_count=settings.max_receive_count)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer(event, context)
