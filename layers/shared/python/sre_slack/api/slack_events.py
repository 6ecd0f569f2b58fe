"""`POST /slack/events` (Events API; signed by Slack, no JWT): sre_slack.services.slack_events.

Verified by the signing middleware before anything else runs, url_verification included. 200 once applied
(url_verification echoes the challenge); 503 when our side failed, so that Slack retries: every event is
idempotent.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import json_response
from sre_slack.contracts.slack_payloads import EventCallback, InvalidPayload, UrlVerification, parse_event_envelope
from sre_slack.observability import get_logger
from sre_slack.services.slack_events import handle_event
from sre_slack.slack.signing import VerifySlackSignature, verified_request

router = Router()


@router.post("/slack/events", middlewares=[VerifySlackSignature()])
def event() -> Response:
    logger = get_logger()
    request = verified_request(router)
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
