"""POST /slack/events: Slack Events API (url_verification, app_uninstalled, tokens_revoked, channel events).

Verified against the signing secret before anything else, url_verification included. Every event is
idempotent, so Slack's retries (X-Slack-Retry-Num) are simply applied again; the answer is 200 as soon as
the event is applied. Only a failure on our side (the table unreachable) answers 503, so that Slack retries.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.contracts.slack_payloads import EventCallback, InvalidPayload, UrlVerification, parse_event_envelope
from sre_slack.observability import get_logger
from sre_slack.services.slack_events import handle_event
from sre_slack.slack.signing import InvalidSignature, SigningSecretUnavailable, verify_event

logger = get_logger()


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body, separators=(",", ":"))}


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = verify_event(event)
    except InvalidSignature as exc:
        logger.warning("event refused: not signed by Slack", reason=exc.reason)
        return _json(401, {"error": "invalid_signature", "message": "request not signed by Slack"})
    except SigningSecretUnavailable as exc:
        # Not a forgery: our configuration. 503 makes Slack retry the event once the secret is filled.
        logger.error("cannot verify Slack requests: the signing secret is unavailable (README: Deploying)",
                     error=str(exc))
        return _json(503, {"error": "temporarily_unavailable", "message": "try again"})
    try:
        envelope = parse_event_envelope(request.text)
    except (InvalidPayload, UnicodeDecodeError) as exc:
        logger.warning("event payload refused", reason=str(exc))
        return _json(400, {"error": "invalid_payload", "message": str(exc)})
    if isinstance(envelope, UrlVerification):
        return _json(200, {"challenge": envelope.challenge})
    if not isinstance(envelope, EventCallback):
        logger.info("envelope ignored", envelope_type=envelope.type)
        return _json(200, {"ok": True})
    logger.append_keys(event_id=envelope.event_id, event_type=envelope.event.type, retry_num=request.retry_num)
    try:
        touched = handle_event(envelope)
    except Exception:  # answer so that Slack retries, never a stack trace
        logger.exception("event failed")
        return _json(503, {"error": "temporarily_unavailable", "message": "try again"})
    logger.info("event applied", tenants=len(touched))
    return _json(200, {"ok": True})
