"""Slack failures as facts the delivery policy can decide on: error code, HTTP status, Retry-After, and whether
the request ever left (an exception raised before anything was sent cannot have posted a message).

The classes and what follows from them live in sre_slack.domain.delivery_policy; this module only reads the
exceptions slack_sdk and urllib raise.
"""

from __future__ import annotations

import socket
import urllib.error
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackRequestError

from sre_slack.domain.delivery_policy import FailureClass, Outcome, failure_class, outcome_of

DEFAULT_RETRY_AFTER_SECONDS = 30


@dataclass(frozen=True)
class SlackFailure:
    failure_class: FailureClass
    error: str
    status: int | None = None
    retry_after: int | None = None
    # False when the request provably never reached Slack (connection refused, name not resolved).
    request_sent: bool = True

    @property
    def retryable(self) -> bool:
        return self.failure_class in (FailureClass.TRANSIENT, FailureClass.RATE_LIMITED)

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.failure_class, self.error, self.status, request_sent=self.request_sent)

    def describe(self) -> str:
        status = f" (HTTP {self.status})" if self.status and self.status != 200 else ""
        return f"{self.failure_class}: {self.error}{status}"


class SlackCallFailed(Exception):
    """A Slack call failed; `failure` says whether to wait, give up on the installation, or try again."""

    def __init__(self, failure: SlackFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


def _retry_after(error: SlackApiError) -> int:
    raw = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
    try:
        return max(1, int(raw))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS


def _never_sent(exc: BaseException) -> bool:
    """The request never fully reached Slack. urllib raises a failure to connect or to send the request as
    `URLError` (the name did not resolve, the connection was refused, timed out or reset while the request was
    being written); a failure while waiting for or reading the answer (the request was sent: Slack may have acted
    on it) comes through as it is: a reset, a read timeout, a dropped connection."""
    if isinstance(exc, urllib.error.HTTPError):
        return False
    return isinstance(exc, urllib.error.URLError | socket.gaierror | ConnectionRefusedError)


def classify(exc: BaseException) -> SlackFailure:
    """Sort any exception raised by a Slack call."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"http_{status}")
        kind = failure_class(error, status)
        retry_after = _retry_after(exc) if kind == FailureClass.RATE_LIMITED else None
        return SlackFailure(kind, error, status, retry_after)
    if isinstance(exc, urllib.error.HTTPError):
        return SlackFailure(FailureClass.TRANSIENT, f"http_{exc.code}", exc.code)
    if isinstance(exc, urllib.error.URLError | ConnectionError | TimeoutError | socket.timeout | SlackRequestError):
        return SlackFailure(FailureClass.TRANSIENT, type(exc).__name__, request_sent=not _never_sent(exc))
    return SlackFailure(FailureClass.TRANSIENT, type(exc).__name__)


def not_attempted(reason: str, retry_after: int | None = None) -> SlackFailure:
    """A call we chose not to make (no time left before the deadline, channel paced out)."""
    return SlackFailure(FailureClass.TRANSIENT, reason, None, retry_after, request_sent=False)
