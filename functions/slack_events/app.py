"""POST /slack/events: Slack Events API (url_verification, app_uninstalled, tokens_revoked, channel events).

Verified against the signing secret before anything else, url_verification included (the `verify_slack_signature`
middleware). Every event is idempotent, so Slack's retries (X-Slack-Retry-Num) are simply applied again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack import container
from sre_slack.api.slack_events import answer_event
from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger
from sre_slack.slack.signing import SlackRequest, verify_slack_signature

logger = get_logger()
get_settings().check("table_name", "slack_secret_arn")
container.register_restore_hook()


@logger.inject_lambda_context(clear_state=True)
@verify_slack_signature
def lambda_handler(request: SlackRequest, context: LambdaContext) -> dict[str, Any]:
    return answer_event(request)
