"""Slack install flow: POST /slack/install (portal), GET /slack/oauth/start and /slack/oauth/callback (browser)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack import container
from sre_slack.api import install
from sre_slack.api.resolver import new_resolver
from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger

logger = get_logger()
get_settings().check("table_name", "kms_key_id", "slack_secret_arn", "portal_url")
container.register_restore_hook()
app = new_resolver()
app.include_router(install.router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
