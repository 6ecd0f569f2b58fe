"""POST /slack/events: Slack Events API (url_verification, app_uninstalled, tokens_revoked, channel events).

Verified against the signing secret before anything else, url_verification included. Every event is idempotent,
so Slack's retries (X-Slack-Retry-Num) are simply applied again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.api import slack_events
from sre_slack.api.resolver import new_resolver
from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger

logger = get_logger()
get_settings().check("table_name", "slack_secret_arn")
app = new_resolver()
app.include_router(slack_events.router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
