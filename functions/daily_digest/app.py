"""Daily digest fan-out (EventBridge `cron(0 9 * * ? *)`): one job per tenant with an active installation.

"Now" is the event's `time`, so a late or replayed event reports the day it was scheduled for.

EventBridge delivers at least once and retries a failed invocation with the same event: Powertools idempotency
on the event id turns a second delivery into the first one's answer instead of 10,000 duplicate jobs. A fan-out
that failed half-way is not recorded as done, so its retry enqueues again (each channel's ledger delivery makes
the duplicates harmless); a different event for the same day (a manual replay) runs again for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent
from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack import aws, container
from sre_slack.contracts.lambda_events import ScheduleEvent
from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger
from sre_slack.services.digest_schedule import fan_out

logger = get_logger()
settings = get_settings().check("table_name", "idempotency_table_name", "digest_queue_url")
# A retry comes within minutes; a day's record is plenty and keeps the table small.
config = IdempotencyConfig(event_key_jmespath="id", raise_on_no_idempotency_key=True, expires_after_seconds=86_400)


class FanOutIncomplete(RuntimeError):
    """Some jobs could not be enqueued: failing the invocation makes EventBridge retry it (duplicates are fine)."""


def fan_out_once(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    schedule = ScheduleEvent.parse(event)
    day = schedule.report_day
    logger.append_keys(report_day=day.isoformat(), scheduled_at=schedule.fired_at.isoformat())
    result = fan_out(day, settings.digest_queue_url)
    logger.info("digest jobs enqueued", jobs=result.sent, failed=len(result.failed), requests=result.requests)
    if result.failed:
        logger.error("digest jobs not enqueued", tenants=sorted(result.failed)[:50],
                     errors=sorted(set(result.failed.values())))
        raise FanOutIncomplete(f"{len(result.failed)} digest jobs could not be enqueued")
    return {"day": day.isoformat(), "jobs": result.sent}


@cache
def idempotent_fan_out() -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """Built at the first invocation, on the container's one DynamoDB client: built at import, the persistence
    layer created a second client there (54 ms of this function's 276 ms import, bench/cold_start.py)."""
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name,
                                           boto3_client=aws.client("dynamodb"))
    return idempotent(persistence_store=persistence, config=config)(fan_out_once)


container.keeps(idempotent_fan_out.cache_clear)  # a new emulated account, or a SnapStart restore: a new client


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return idempotent_fan_out()(event, context)
