"""Portal-facing API: installation, channel picker, routing, Test Integration, feedback (all behind the JWT)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.api import channels, feedback, installation, integration_check, routing, slack_failures
from sre_slack.api.resolver import new_resolver
from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger

logger = get_logger()
get_settings().check("table_name", "kms_key_id", "slack_secret_arn", "investigation_queue_url")
app = new_resolver()
slack_failures.register(app)
for module in (installation, channels, routing, integration_check, feedback):
    app.include_router(module.router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
