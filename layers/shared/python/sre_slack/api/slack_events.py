"""`POST /slack/events` (Events API; signed by Slack, no JWT): the HTTP answer Slack expects.

200 once applied (url_verification echoes the challenge); 400 for a body Slack would never send; 503 when our side
failed, so that Slack retries: every event is idempotent (sre_slack.services.slack_events). The signature was
checked before (sre_slack.slack.signing), url_verification included.
"""

from __future__ import annotations

from typing import Any

from sre_slack.contracts.slack_payloads import EventCallback, InvalidPayload, UrlVerification, parse_event_envelope
from sre_slack.observability import get_logger
from sre_slack.services.slack_events import handle_event
from sre_slack.slack.signing import SlackRequest, json_answer


def answer_event(request: SlackRequest) -> dict[str, Any]:
    logger = get_logger()
    try:
        envelope = parse_event_envelope(request.text)
    except (InvalidPayload, UnicodeDecodeError) as exc:
        logger.warning("event payload refused", reason=str(exc))
        return json_answer(400, {"error": "invalid_payload", "message": str(exc)})
    if isinstance(envelope, UrlVerification):
        return json_answer(200, {"challenge": envelope.challenge})
    if not isinstance(envelope, EventCallback):
        logger.info("envelope ignored", envelope_type=envelope.type)
        return json_answer(200, {"ok": True})
    logger.append_keys(event_id=envelope.event_id, event_type=envelope.event.type, retry_num=request.retry_num)
    try:
        touched = handle_event(envelope)
    except Exception:  # answer so that Slack retries, never a stack trace
        logger.exception("event failed")
        return json_answer(503, {"error": "temporarily_unavailable", "message": "try again"})
    logger.info("event applied", tenants=len(touched))
    return json_answer(200, {"ok": True})
