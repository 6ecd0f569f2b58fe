"""Slack failures sorted into the classes that decide what happens next (shared README, "Rate limits and
errors"): retry later, wait for Retry-After, give up on one channel, give up on the installation, or give up on
a payload that Slack will never accept."""

from __future__ import annotations

import socket
import urllib.error
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk.errors import SlackApiError, SlackRequestError


class FailureClass(StrEnum):
    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    CHANNEL = "channel"
    PAYLOAD = "payload"
    INSTALLATION = "installation"
    # chat.update on a message Slack no longer lets us edit.
    MESSAGE_GONE = "message_gone"


CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"})
PAYLOAD_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text",
                            "msg_blocks_too_long", "invalid_arguments", "invalid_attachments", "too_many_attachments"})
INSTALLATION_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed", "missing_scope",
                                 "token_expired", "no_permission", "team_access_not_granted", "ekm_access_denied",
                                 "org_login_required", "app_uninstalled"})
# The token itself is gone: drop it rather than keep a dead secret around.
TOKEN_GONE_ERRORS = frozenset({"token_revoked", "account_inactive", "app_uninstalled"})
MESSAGE_GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})

DEFAULT_RETRY_AFTER_SECONDS = 30


@dataclass(frozen=True)
class SlackFailure:
    failure_class: FailureClass
    error: str
    status: int | None = None
    retry_after: int | None = None

    @property
    def retryable(self) -> bool:
        return self.failure_class in (FailureClass.TRANSIENT, FailureClass.RATE_LIMITED)

    def describe(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.failure_class}: {self.error}{status}"


def _retry_after(error: SlackApiError) -> int:
    raw = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
    try:
        return max(1, int(raw))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS


def classify(exc: BaseException) -> SlackFailure:
    """Sort any exception raised by a Slack call. Unknown errors are transient: SQS retries them a bounded
    number of times and then the dead-letter queue keeps the message with its reason."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"http_{status}")
        if status == 429 or error in RATE_LIMIT_ERRORS:
            return SlackFailure(FailureClass.RATE_LIMITED, error or "ratelimited", status, _retry_after(exc))
        if error in CHANNEL_ERRORS:
            return SlackFailure(FailureClass.CHANNEL, error, status)
        if error in PAYLOAD_ERRORS:
            return SlackFailure(FailureClass.PAYLOAD, error, status)
        if error in INSTALLATION_ERRORS:
            return SlackFailure(FailureClass.INSTALLATION, error, status)
        if error in MESSAGE_GONE_ERRORS:
            return SlackFailure(FailureClass.MESSAGE_GONE, error, status)
        return SlackFailure(FailureClass.TRANSIENT, error, status)
    if isinstance(exc, urllib.error.HTTPError):
        return SlackFailure(FailureClass.TRANSIENT, f"http_{exc.code}", exc.code)
    if isinstance(exc, urllib.error.URLError | ConnectionError | TimeoutError | socket.timeout | SlackRequestError):
        return SlackFailure(FailureClass.TRANSIENT, type(exc).__name__)
    return SlackFailure(FailureClass.TRANSIENT, type(exc).__name__)
