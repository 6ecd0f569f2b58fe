"""One Slack call for one channel: post or update a message, and what its failure means for delivery.

`sre_slack.slack.errors.classify` sorts a failure into its class; this module adds the question that only
matters for chat.postMessage, which has no idempotency key: could Slack have posted the message anyway?

- Certainly not posted: 429, `service_unavailable` / HTTP 503 (Slack refused the request), a connection that
  was never established, and every channel, payload or installation error. A later attempt may post.
- Maybe posted (ambiguous): `internal_error`, `fatal_error`, `request_timeout`, other 5xx, a read timeout, a
  connection dropped after the request was sent. Posting again could show the alert twice, and the app may
  not read channel history to check, so the delivery is settled as `unknown` (docs/posting.md).

chat.update is idempotent (same ts, same content), so every transient update failure is simply retried.
"""

from __future__ import annotations

import socket
import urllib.error
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sre_slack.slack.errors import FailureClass, SlackFailure, classify

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from sre_slack.blocks.investigation import SlackMessage

# Errors after which Slack certainly did not create the message.
_NOT_POSTED_ERRORS = frozenset({"service_unavailable", "http_503"})


class Verdict(StrEnum):
    OK = "ok"
    RETRY = "retry"  # not done, safe to try again later (rate limit, transient and certainly not posted)
    AMBIGUOUS = "ambiguous"  # chat.postMessage may or may not have posted
    CHANNEL = "channel"
    PAYLOAD = "payload"
    INSTALLATION = "installation"
    GONE = "gone"  # chat.update: the message can no longer be edited


@dataclass(frozen=True)
class SlackResult:
    verdict: Verdict
    ts: str | None = None
    failure: SlackFailure | None = None

    @property
    def retry_after(self) -> int | None:
        return self.failure.retry_after if self.failure else None

    @property
    def reason(self) -> str:
        return self.failure.describe() if self.failure else "ok"


_BY_CLASS = {
    FailureClass.CHANNEL: Verdict.CHANNEL,
    FailureClass.PAYLOAD: Verdict.PAYLOAD,
    FailureClass.INSTALLATION: Verdict.INSTALLATION,
    FailureClass.MESSAGE_GONE: Verdict.GONE,
    FailureClass.RATE_LIMITED: Verdict.RETRY,
}


def _never_sent(exc: BaseException) -> bool:
    """The request never reached Slack: refused or unresolvable before anything was sent."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def maybe_posted(exc: BaseException, failure: SlackFailure) -> bool:
    """After this failure of chat.postMessage, could the message exist anyway? True for a transient failure
    that does not prove Slack refused the request (internal_error, fatal_error, 500/502/504, read timeout,
    connection reset after sending). Used by every pipeline that posts (investigations, digest)."""
    if failure.failure_class != FailureClass.TRANSIENT:
        return False
    return not (failure.error in _NOT_POSTED_ERRORS or failure.status == 503 or _never_sent(exc))


def _post_verdict(exc: BaseException, failure: SlackFailure) -> Verdict:
    if failure.failure_class in _BY_CLASS:
        return _BY_CLASS[failure.failure_class]
    return Verdict.AMBIGUOUS if maybe_posted(exc, failure) else Verdict.RETRY


def post_message(client: WebClient, channel: str, message: SlackMessage) -> SlackResult:
    try:
        response = client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False,
                                           **message.as_kwargs())
    except Exception as exc:
        failure = classify(exc)
        return SlackResult(_post_verdict(exc, failure), failure=failure)
    return SlackResult(Verdict.OK, ts=str(response["ts"]))


def update_message(client: WebClient, channel: str, ts: str, message: SlackMessage) -> SlackResult:
    try:
        client.chat_update(channel=channel, ts=ts, **message.as_kwargs())
    except Exception as exc:
        failure = classify(exc)
        verdict = _BY_CLASS.get(failure.failure_class, Verdict.RETRY)
        return SlackResult(verdict, ts=ts, failure=failure)
    return SlackResult(Verdict.OK, ts=ts)


def not_attempted(reason: str, retry_after: int | None = None) -> SlackResult:
    """A call we chose not to make (no time left before the deadline, channel paced out)."""
    return SlackResult(Verdict.RETRY, failure=SlackFailure(FailureClass.TRANSIENT, reason, None, retry_after))


def describe_for_log(result: SlackResult) -> dict[str, Any]:
    failure = result.failure
    return {"verdict": str(result.verdict), "error": failure.error if failure else None,
            "status": failure.status if failure else None}
