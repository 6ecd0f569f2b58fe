"""DynamoDB stream of SlackTable (outbox items only: the event source mapping's filter) -> the engine bus.

The one publisher of the outbound events (CONTRACT.md, "Outbound events"; docs/feedback-and-events.md). Answers
Lambda's partial batch format for streams: the first record whose event did not go, so Lambda retries from it.
Invoked by hand with a message of EngineEventsFailureQueue, it re-publishes the range that message names.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger, get_metrics
from sre_slack.services.engine_events import handle_event

logger = get_logger()
metrics = get_metrics()
get_settings().check("engine_event_bus_name")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_event(event)
