"""Slack request signing for API Gateway HTTP API (payload 2.0) events.

The signature covers the raw bytes Slack sent, so the body is verified exactly as it arrived (base64-decoded
when API Gateway flagged it) before anything parses it. `slack_sdk`'s verifier raises on a non-numeric
timestamp or a non-UTF-8 body instead of answering False; here every failure of any kind means "not signed
by Slack", so a caller can only ever get a verified request or `InvalidSignature` (a 401), never a 500.
No body parameter is looked at before the check (bolt-python once skipped it for `ssl_check=1`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from slack_sdk.signature import Clock, SignatureVerifier

from sre_slack.observability import get_logger
from sre_slack.slack.credentials import get_slack_credentials

# Slack rejects requests more than five minutes old; a clock that runs ahead is just as suspicious.
MAX_AGE_SECONDS = 300
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")


class InvalidSignature(Exception):
    """The request is not provably from Slack: answer 401 and do nothing else.

    `reason` is a short code for the log; it never contains the secret, the signature or the body.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SigningSecretUnavailable(Exception):
    """Our own signing secret cannot be read (the credentials secret is unfilled, or Secrets Manager failed):
    nothing can be verified, but the request is not forged. Answer 503 so Slack retries once it is fixed."""


@dataclass(frozen=True)
class SlackRequest:
    """A request whose signature checked out."""

    body: bytes
    headers: Mapping[str, str] = field(repr=False)
    timestamp: int = 0
    # Slack resends a request it thinks failed, with these headers (Events API; handlers must be idempotent).
    retry_num: int | None = None
    retry_reason: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The request body as the bytes Slack sent; raises InvalidSignature when it cannot be recovered."""
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvalidSignature("body_not_text")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidSignature("body_not_base64") from exc
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: not something Slack sends
        raise InvalidSignature("body_not_utf8") from exc


def lowered_headers(event: Mapping[str, Any]) -> dict[str, str]:
    headers = event.get("headers") or {}
    if not isinstance(headers, Mapping):
        return {}
    return {str(name).lower(): str(value) for name, value in headers.items()}


def signature_is_valid(signing_secret: str, body: bytes, timestamp: str | None, signature: str | None, *,
                       now: float | None = None) -> bool:
    """Slack's v0 check (constant-time, via slack_sdk) that answers False for every malformed input."""
    if not timestamp or not signature or not _TIMESTAMP.match(timestamp) or not _SIGNATURE.match(signature):
        return False

    class _FixedClock(Clock):
        def now(self) -> float:
            return time.time() if now is None else now

    try:
        return SignatureVerifier(signing_secret, clock=_FixedClock()).is_valid(body, timestamp, signature)
    except Exception:  # ValueError, UnicodeDecodeError, TypeError: all mean "not from Slack"
        return False


def configured_signing_secret() -> str:
    return get_slack_credentials().signing_secret


def verify_event(event: Mapping[str, Any], signing_secret: str | Callable[[], str] = configured_signing_secret, *,
                 now: float | None = None) -> SlackRequest:
    """The verified request, or InvalidSignature. `signing_secret` (the app's, from the credentials secret, by
    default) may be a callable, read only once the headers are plausible."""
    try:
        headers = lowered_headers(event)
        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not timestamp or not signature:
            raise InvalidSignature("missing_headers")
        if not _TIMESTAMP.match(timestamp.strip()):
            raise InvalidSignature("bad_timestamp")
        moment = time.time() if now is None else now
        if abs(moment - int(timestamp.strip())) > MAX_AGE_SECONDS:
            raise InvalidSignature("stale")
        body = raw_body(event)
        try:
            secret = signing_secret() if callable(signing_secret) else signing_secret
        except Exception as exc:
            raise SigningSecretUnavailable(type(exc).__name__) from exc
        if not signature_is_valid(secret, body, timestamp.strip(), signature.strip(), now=moment):
            raise InvalidSignature("bad_signature")
        return SlackRequest(body=body, headers=headers, timestamp=int(timestamp.strip()),
                            retry_num=_int_or_none(headers.get("x-slack-retry-num")),
                            retry_reason=headers.get("x-slack-retry-reason"))
    except (InvalidSignature, SigningSecretUnavailable):
        raise
    except Exception as exc:  # anything unexpected while checking is still a refusal
        raise InvalidSignature(f"unverifiable:{type(exc).__name__}") from exc


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def json_answer(status: int, body: dict[str, Any] | None) -> dict[str, Any]:
    """An API Gateway (payload 2.0) answer: JSON, or an empty text body when `body` is None."""
    if body is None:
        return {"statusCode": status, "headers": {"Content-Type": "text/plain"}, "body": ""}
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body, separators=(",", ":"))}


SlackHandler = Callable[[SlackRequest, Any], dict[str, Any]]


@lambda_handler_decorator
def verify_slack_signature(handler: SlackHandler, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Powertools middleware of both Slack-facing functions: nothing runs for a request Slack did not sign, and the
    handler receives the verified `SlackRequest` instead of the event.

    Forged, unsigned or stale: 401 and nothing else. Our own signing secret unreadable (the credentials secret is
    not filled yet): 503, so that Slack retries once it is.
    """
    logger = get_logger()
    try:
        request = verify_event(event)
    except InvalidSignature as exc:
        logger.warning("request refused: not signed by Slack", reason=exc.reason)
        return json_answer(401, {"error": "invalid_signature", "message": "request not signed by Slack"})
    except SigningSecretUnavailable as exc:
        logger.error("cannot verify Slack requests: the signing secret is unavailable (README: Deploying)",
                     error=str(exc))
        return json_answer(503, {"error": "temporarily_unavailable", "message": "try again"})
    return handler(request, context)
