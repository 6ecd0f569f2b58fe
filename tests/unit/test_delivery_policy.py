"""The delivery policy: every Slack outcome of a post or an update has one decision, and failures are told apart
by whether the request could have reached Slack."""

from __future__ import annotations

import socket
import urllib.error
from http.client import RemoteDisconnected

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from sre_slack.domain.delivery_policy import (
    POLICY,
    Call,
    DeliveryStatus,
    FailureClass,
    Outcome,
    decide,
    failure_class,
    resend_backoff,
)
from sre_slack.slack.errors import classify


def _api_error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> SlackApiError:
    response = SlackResponse(client=None, http_verb="POST", api_url="https://slack.test/api/chat.postMessage",
                             req_args={}, data={"ok": False, "error": error}, headers=headers or {},
                             status_code=status)
    return SlackApiError(error, response)


def test_every_outcome_of_every_call_has_a_decision() -> None:
    assert set(POLICY) == {(call, outcome) for call in Call for outcome in Outcome}


@pytest.mark.parametrize(("exception", "outcome"), [
    (_api_error("internal_error", 500), Outcome.AMBIGUOUS),
    (_api_error("internal_error"), Outcome.AMBIGUOUS),
    (_api_error("fatal_error", 500), Outcome.AMBIGUOUS),
    (_api_error("http_502", 502), Outcome.AMBIGUOUS),
    (_api_error("service_unavailable", 503), Outcome.NOT_SENT),
    (_api_error("http_503", 503), Outcome.NOT_SENT),
    (_api_error("ratelimited", 429, {"Retry-After": "7"}), Outcome.RATE_LIMITED),
    (_api_error("channel_not_found"), Outcome.CHANNEL),
    (_api_error("is_archived"), Outcome.CHANNEL),
    (_api_error("msg_blocks_too_long"), Outcome.PAYLOAD),
    (_api_error("token_revoked"), Outcome.INSTALLATION),
    (_api_error("message_not_found"), Outcome.MESSAGE_GONE),
    # Raised by urllib while connecting or writing the request: it never (fully) left.
    (urllib.error.URLError(ConnectionRefusedError(111, "refused")), Outcome.NOT_SENT),
    (urllib.error.URLError(socket.gaierror(-2, "Name or service not known")), Outcome.NOT_SENT),
    (urllib.error.URLError(TimeoutError("timed out")), Outcome.NOT_SENT),
    (urllib.error.URLError(ConnectionResetError(104, "reset")), Outcome.NOT_SENT),
    # Raised while waiting for or reading the answer: the request was sent, Slack may have posted.
    (ConnectionResetError(104, "Connection reset by peer"), Outcome.AMBIGUOUS),
    (RemoteDisconnected("Remote end closed connection without response"), Outcome.AMBIGUOUS),
    (TimeoutError("The read operation timed out"), Outcome.AMBIGUOUS),
], ids=repr)
def test_failures_are_sorted_by_what_they_prove(exception: BaseException, outcome: Outcome) -> None:
    assert classify(exception).outcome == outcome


def test_retry_after_is_read_from_the_answer() -> None:
    assert classify(_api_error("ratelimited", 429, {"Retry-After": "7"})).retry_after == 7


@pytest.mark.parametrize(("call", "outcome", "status", "retry", "resend"), [
    (Call.POST, Outcome.OK, DeliveryStatus.POSTED, False, False),
    (Call.POST, Outcome.AMBIGUOUS, DeliveryStatus.RETRY, True, True),
    (Call.POST, Outcome.NOT_SENT, DeliveryStatus.RETRY, True, False),
    (Call.POST, Outcome.RATE_LIMITED, DeliveryStatus.RETRY, True, False),
    (Call.POST, Outcome.NOT_ATTEMPTED, DeliveryStatus.RETRY, True, False),
    (Call.POST, Outcome.CHANNEL, DeliveryStatus.FAILED, False, False),
    (Call.POST, Outcome.PAYLOAD, DeliveryStatus.FAILED, False, False),
    (Call.POST, Outcome.INSTALLATION, DeliveryStatus.UNDELIVERABLE, False, False),
    (Call.UPDATE, Outcome.AMBIGUOUS, None, True, False),  # an update is idempotent
    (Call.UPDATE, Outcome.MESSAGE_GONE, DeliveryStatus.GONE, False, False),
])
def test_the_table(call: Call, outcome: Outcome, status: DeliveryStatus | None, retry: bool, resend: bool) -> None:
    decision = decide(call, outcome)
    assert (decision.status, decision.retry, decision.resend) == (status, retry, resend)


def test_channel_and_installation_refusals_are_recorded_beyond_the_delivery() -> None:
    assert decide(Call.POST, Outcome.CHANNEL).channel_failing
    assert decide(Call.UPDATE, Outcome.CHANNEL).channel_failing
    assert decide(Call.POST, Outcome.INSTALLATION).installation_refused


def test_the_resend_backoff_doubles_from_thirty_seconds_to_fifteen_minutes() -> None:
    assert [resend_backoff(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]


def test_unknown_errors_are_transient() -> None:
    assert failure_class("something_new", 200) == FailureClass.TRANSIENT
