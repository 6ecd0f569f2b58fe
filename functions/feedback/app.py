"""POST /slack/interactions: Slack interactivity (feedback buttons, the Needs Improvement modal).

Verified against the signing secret before anything else (sre_slack.slack.signing); unsigned, forged or stale
requests get 401 and nothing happens.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.api import interactions
from sre_slack.api.resolver import new_resolver
from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger, get_metrics

logger = get_logger()
metrics = get_metrics()
get_settings().check("table_name", "kms_key_id", "slack_secret_arn")
app = new_resolver()
app.include_router(interactions.router)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
