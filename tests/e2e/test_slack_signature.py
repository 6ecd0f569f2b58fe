"""Slack request signing: what gets in and what gets a 401 (unit cases, then through both Slack endpoints)."""

from __future__ import annotations

import base64
import json
import time

import boto3
import pytest

from localdev.gateway import build_http_event
from sre_slack.contracts.settings import get_settings
from sre_slack.slack.signing import InvalidSignature, signature_is_valid, verify_event
from sre_slack.storage import keys
from sre_slack.storage.table import to_item
from tests.support import call_http, form_body, signed_headers

# Slack's published example (shared README, checked against Slack's documentation).
EXAMPLE_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EXAMPLE_TIMESTAMP = "1531420618"
EXAMPLE_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SECRET = "unit-test-signing-secret"
NOW = 1_800_000_000


def _event(body: bytes | str, headers: dict[str, str], *, is_base64: bool = False) -> dict:
    return build_http_event("POST", "/slack/interactions", headers=headers, body=body, is_base64=is_base64)


def _signed(body: bytes | str, *, timestamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return signed_headers(body, secret, timestamp=timestamp)


def test_slacks_published_example_verifies():
    event = _event(EXAMPLE_BODY, {"X-Slack-Request-Timestamp": EXAMPLE_TIMESTAMP,
                                  "X-Slack-Signature": EXAMPLE_SIGNATURE})
    request = verify_event(event, EXAMPLE_SECRET, now=int(EXAMPLE_TIMESTAMP) + 5)
    assert request.body == EXAMPLE_BODY.encode()
    assert signature_is_valid(EXAMPLE_SECRET, EXAMPLE_BODY.encode(), EXAMPLE_TIMESTAMP, EXAMPLE_SIGNATURE,
                              now=int(EXAMPLE_TIMESTAMP))


def test_published_example_with_another_secret_is_refused():
    event = _event(EXAMPLE_BODY, {"X-Slack-Request-Timestamp": EXAMPLE_TIMESTAMP,
                                  "X-Slack-Signature": EXAMPLE_SIGNATURE})
    with pytest.raises(InvalidSignature):
        verify_event(event, EXAMPLE_SECRET + "x", now=int(EXAMPLE_TIMESTAMP))


def test_valid_signature_within_the_window_both_ways():
    body = form_body({"type": "block_actions"})
    for skew in (-300, 0, 300):
        assert verify_event(_event(body, _signed(body, timestamp=NOW + skew)), SECRET, now=NOW).body == body.encode()


@pytest.mark.parametrize("skew", [-301, 301, -86_400, 86_400])
def test_stale_or_future_timestamp_is_refused(skew):
    body = form_body({"type": "block_actions"})
    with pytest.raises(InvalidSignature) as refused:
        verify_event(_event(body, _signed(body, timestamp=NOW + skew)), SECRET, now=NOW)
    assert refused.value.reason == "stale"


def test_forged_signature_is_refused():
    body = form_body({"type": "block_actions"})
    with pytest.raises(InvalidSignature):
        verify_event(_event(body, _signed(body, secret="attacker-secret")), SECRET, now=NOW)


def test_tampered_byte_is_refused():
    body = form_body({"type": "block_actions", "team": {"id": "T0LOCAL"}})
    headers = _signed(body)
    tampered = body.replace("T0LOCAL", "T0LOCAM")
    with pytest.raises(InvalidSignature):
        verify_event(_event(tampered, headers), SECRET, now=NOW)
    # A flipped bit in the signature itself is refused too.
    last = headers["X-Slack-Signature"][-1]
    headers["X-Slack-Signature"] = headers["X-Slack-Signature"][:-1] + ("0" if last != "0" else "1")
    with pytest.raises(InvalidSignature):
        verify_event(_event(body, headers), SECRET, now=NOW)


@pytest.mark.parametrize("missing", ["X-Slack-Request-Timestamp", "X-Slack-Signature"])
def test_missing_header_is_refused(missing):
    body = form_body({"type": "block_actions"})
    headers = _signed(body)
    del headers[missing]
    with pytest.raises(InvalidSignature):
        verify_event(_event(body, headers), SECRET, now=NOW)


@pytest.mark.parametrize("timestamp", ["abc", "1.8e9", "", " ", "١٨٠٠٠٠٠٠٠٠", "-1800000000"])
def test_non_numeric_timestamp_is_refused_not_raised(timestamp):
    body = "payload=%7B%7D"
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64}
    with pytest.raises(InvalidSignature):
        verify_event(_event(body, headers), SECRET, now=NOW)
    # slack_sdk's verifier would raise ValueError here; ours answers False.
    assert not signature_is_valid(SECRET, body.encode(), timestamp, "v0=" + "0" * 64, now=NOW)


def test_non_utf8_body_is_refused_not_raised():
    body = b"payload=\xff\xfe\xfa"
    headers = {"X-Slack-Request-Timestamp": str(NOW), "X-Slack-Signature": "v0=" + "a" * 64}
    with pytest.raises(InvalidSignature):
        verify_event(_event(body, headers, is_base64=True), SECRET, now=NOW)
    assert not signature_is_valid(SECRET, body, str(NOW), "v0=" + "a" * 64, now=NOW)


def test_base64_body_is_verified_on_the_decoded_bytes():
    body = form_body({"type": "block_actions", "note": "ü ✓"})
    event = _event(body.encode(), _signed(body), is_base64=True)
    assert event["isBase64Encoded"] and event["body"] != body
    assert verify_event(event, SECRET, now=NOW).text == body
    # The same base64 text, not flagged as base64, is not what was signed.
    event["isBase64Encoded"] = False
    with pytest.raises(InvalidSignature):
        verify_event(event, SECRET, now=NOW)


def test_broken_base64_is_refused():
    body = form_body({"type": "block_actions"})
    event = _event(body, _signed(body))
    event["body"], event["isBase64Encoded"] = "not base64 at all!", True
    with pytest.raises(InvalidSignature):
        verify_event(event, SECRET, now=NOW)


def test_retry_headers_are_read():
    body = json.dumps({"type": "event_callback"})
    headers = {**_signed(body), "X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}
    request = verify_event(_event(body, headers), SECRET, now=NOW)
    assert (request.retry_num, request.retry_reason) == (2, "http_timeout")


# --- through the functions ------------------------------------------------------------------------------


def _table_items() -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=get_settings().table_name)["Items"]


@pytest.mark.parametrize("path", ["/slack/interactions", "/slack/events"])
def test_endpoints_answer_401_and_do_nothing_for_unsigned_requests(functions, slack, path):
    body = "ssl_check=1&payload=" + base64.urlsafe_b64encode(b"{}").decode()
    before = _table_items()
    for headers in ({}, {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
                    signed_headers(body, slack.signing_secret, timestamp=int(time.time()) - 3600),
                    signed_headers(body, "wrong-secret")):
        answer = call_http(functions, "POST", path, body=body, headers=headers)
        assert answer.status == 401, (headers, answer.body)
        assert answer.json["error"] == "invalid_signature"
    assert _table_items() == before
    assert slack.calls == []


def test_forged_uninstall_event_leaves_the_installation_alone(functions, slack):
    boto3.client("dynamodb").put_item(TableName=get_settings().table_name, Item=to_item(
        {**keys.installation_key("t_acme"), "tenant_id": "t_acme", "team_id": "T0LOCAL", "status": "active"}))
    body = json.dumps({"type": "event_callback", "team_id": "T0LOCAL", "event": {"type": "app_uninstalled"}})
    answer = call_http(functions, "POST", "/slack/events", body=body,
                       headers=signed_headers(body, "wrong-secret", content_type="application/json"))
    assert answer.status == 401
    assert _table_items()[0]["status"] == {"S": "active"}
