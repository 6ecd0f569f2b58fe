"""The Slack-facing routes: `POST /slack/interactions` (button clicks, modals) and `POST /slack/events`
(Events API). Both are verified by the signing middleware before anything else runs; they need no JWT.

Answers are what Slack expects. Interactions: 200 with an empty body (a submitted modal then closes), the modal's
`response_action` errors, 400 for a payload Slack would never send; never a 500 (Slack would only show "app did not
respond"). Events: 200 once applied (url_verification echoes the challenge); 503 when our side failed, so that
Slack retries (every event is idempotent).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import json_response
from sre_slack.contracts.slack_payloads import EventCallback, InvalidPayload, UrlVerification, parse_event_envelope
from sre_slack.observability import get_logger
from sre_slack.services.interactions import InteractionAnswer, handle_interaction
from sre_slack.services.slack_events import handle_event
from sre_slack.slack.signing import SlackRequest, VerifySlackSignature

interactions = Router()
events = Router()


def _slack_request(router: Router) -> SlackRequest:
    request = router.context.get("slack")
    assert isinstance(request, SlackRequest), "the signing middleware runs first"
    return request


def _answer(answer: InteractionAnswer) -> Response:
    if answer.body is None:
        return Response(status_code=answer.status, content_type="text/plain", body="")
    return json_response(answer.status, answer.body)


@interactions.post("/slack/interactions", middlewares=[VerifySlackSignature()])
def interaction() -> Response:
    try:
        return _answer(handle_interaction(_slack_request(interactions)))
    except Exception:  # Slack gets an answer it can show, never a 500
        get_logger().exception("interaction failed")
        return _answer(InteractionAnswer(200))


@events.post("/slack/events", middlewares=[VerifySlackSignature()])
def event() -> Response:
    logger = get_logger()
    request = _slack_request(events)
    try:
        envelope = parse_event_envelope(request.text)
    except (InvalidPayload, UnicodeDecodeError) as exc:
        logger.warning("event payload refused", reason=str(exc))
        return json_response(400, {"error": "invalid_payload", "message": str(exc)})
    if isinstance(envelope, UrlVerification):
        return json_response(200, {"challenge": envelope.challenge})
    if not isinstance(envelope, EventCallback):
        logger.info("envelope ignored", envelope_type=envelope.type)
        return json_response(200, {"ok": True})
    logger.append_keys(event_id=envelope.event_id, event_type=envelope.event.type, retry_num=request.retry_num)
    try:
        touched = handle_event(envelope)
    except Exception:  # answer so that Slack retries, never a stack trace
        logger.exception("event failed")
        return json_response(503, {"error": "temporarily_unavailable", "message": "try again"})
    logger.info("event applied", tenants=len(touched))
    return json_response(200, {"ok": True})
