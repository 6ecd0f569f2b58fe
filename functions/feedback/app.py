"""POST /slack/interactions: Slack interactivity (feedback buttons, the Needs Improvement modal).

Verified against the signing secret before anything else; unsigned, forged or stale requests get 401 and
nothing happens. Answers are what Slack expects: 200 with an empty body (a submitted modal then closes),
`{"response_action": "errors", ...}` for a modal that needs fixing, 400 for a payload Slack would never send.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.observability import get_logger, get_metrics
from sre_slack.services.interactions import InteractionAnswer, handle_interaction
from sre_slack.slack.signing import InvalidSignature, SigningSecretUnavailable, verify_event

logger = get_logger()
metrics = get_metrics()


def _http(answer: InteractionAnswer) -> dict[str, Any]:
    if answer.body is None:
        return {"statusCode": answer.status, "headers": {"Content-Type": "text/plain"}, "body": ""}
    return {"statusCode": answer.status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(answer.body, separators=(",", ":"))}


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = verify_event(event)
    except InvalidSignature as exc:
        logger.warning("interaction refused: not signed by Slack", reason=exc.reason)
        return _http(InteractionAnswer(401, {"error": "invalid_signature", "message": "request not signed by Slack"}))
    except SigningSecretUnavailable as exc:
        logger.error("cannot verify Slack requests: the signing secret is unavailable (README: Deploying)",
                     error=str(exc))
        return _http(InteractionAnswer(503, {"error": "temporarily_unavailable", "message": "try again"}))
    try:
        return _http(handle_interaction(request))
    except Exception:  # Slack gets an answer it can show, never a 500
        logger.exception("interaction failed")
        return _http(InteractionAnswer(200))
