"""`POST /slack/interactions` (button clicks, modals; signed by Slack, no JWT): sre_slack.services.interactions.

Verified by the signing middleware before anything else runs. Answers are what Slack expects: 200 with an empty
body (a submitted modal then closes), the modal's `response_action` errors, 400 for a payload Slack would never
send; never a 500 (Slack would only show "app did not respond").
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import json_response
from sre_slack.observability import get_logger
from sre_slack.services.interactions import InteractionAnswer, handle_interaction
from sre_slack.slack.signing import VerifySlackSignature, verified_request

router = Router()


def _answer(answer: InteractionAnswer) -> Response:
    if answer.body is None:
        return Response(status_code=answer.status, content_type="text/plain", body="")
    return json_response(answer.status, answer.body)


@router.post("/slack/interactions", middlewares=[VerifySlackSignature()])
def interaction() -> Response:
    try:
        return _answer(handle_interaction(verified_request(router)))
    except Exception:  # Slack gets an answer it can show, never a 500
        get_logger().exception("interaction failed")
        return _answer(InteractionAnswer(200))
