"""POST /slack/interactions: Slack interactivity (feedback buttons, the Needs Improvement modal).

Verified against the signing secret before anything else (the `verify_slack_signature` middleware); unsigned,
forged or stale requests get 401 and nothing happens.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack import container
from sre_slack.api.interactions import answer_interaction
from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger, get_metrics
from sre_slack.slack.signing import SlackRequest, verify_slack_signature

logger = get_logger()
metrics = get_metrics()
get_settings().check("table_name", "kms_key_id", "slack_secret_arn")
container.register_restore_hook()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@verify_slack_signature
def lambda_handler(request: SlackRequest, context: LambdaContext) -> dict[str, Any]:
    return answer_interaction(request)
