"""Actions that reach the engine, end to end: an investigation posted by the real pipeline, clicks sent by the Slack
stand-in to the local gateway, the stream of SlackTable fed to EngineEventsFunction (the event source mapping's
stand-in), and a rule on the engine bus with an SQS target, the way the engine subscribes. What a user checks:
the message in the channel, the row written, and the event the engine receives (CONTRACT.md, "Outbound events")."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime
from typing import Any

import pytest

from sre_slack.blocks import modal
from sre_slack.storage import keys
from tests.posting import deliver, example, item, pump, send, setup_tenant
from tests.support import call_http, form_body, signed_headers

CHANNEL = "C0PROD"
INVESTIGATION = "inv_01JD4X8Y2Z"
CONTRACT_FIELDS = {"version", "event_id", "tenant_id", "investigation_id", "cluster", "user", "at"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def posted(aws, functions, slack, gateway) -> str:
    """An investigation of production-us-east posted to C0PROD by the posting pipeline; its message ts."""
    setup_tenant(functions, slack)
    send(aws, example())
    # A transient retry (a loaded CI machine once saw one) comes back at once instead of after its backoff:
    # what these tests check starts from the one posted message.
    pump(aws, failed_visibility_timeout=0).drain()
    [message] = slack.messages(CHANNEL)
    return message.ts


def assert_contract(detail: dict[str, Any], *, user_id: str, user_name: str, since: float) -> None:
    assert set(detail) >= CONTRACT_FIELDS
    assert detail["version"] == "1"
    uuid.UUID(detail["event_id"])
    assert (detail["tenant_id"], detail["investigation_id"], detail["cluster"]) == (
        "t_acme", INVESTIGATION, "production-us-east")
    assert detail["user"] == {"id": user_id, "name": user_name}
    assert ISO_UTC.match(detail["at"])
    assert datetime.fromisoformat(detail["at"]).timestamp() >= int(since)


def line(slack, ts: str, block_id: str) -> str | None:
    for block in slack.message(CHANNEL, ts).blocks:
        if block.get("block_id") == block_id:
            return block["elements"][0]["text"]
    return None


# --- feedback.recorded ----------------------------------------------------------------------------------------


def test_a_rating_reaches_the_engine_once_and_a_changed_rating_again(posted, slack, streams, engine_bus):
    before = time.time()
    slack.click(CHANNEL, posted, "feedback_accurate", user_id="U0ALICE")
    slack.click(CHANNEL, posted, "feedback_accurate", user_id="U0ALICE")  # double click
    slack.click(CHANNEL, posted, "feedback_accurate", user_id="U0ALICE", retries=2)  # Slack retrying
    streams.drain()

    received = engine_bus.received()
    assert [(e["source"], e["detail-type"]) for e in received] == [("ai-sre.slack", "feedback.recorded")]
    [first] = [e["detail"] for e in received]
    assert_contract(first, user_id="U0ALICE", user_name="alice", since=before)
    assert first["rating"] == "accurate"
    assert "reason" not in first and "comment" not in first
    assert line(slack, posted, "feedback_summary") == "Rated *Accurate* by <@U0ALICE>"

    slack.click(CHANNEL, posted, "feedback_partially_accurate", user_id="U0ALICE")
    streams.drain()

    [changed] = engine_bus.details("feedback.recorded")
    assert changed["rating"] == "partially_accurate" and changed["event_id"] != first["event_id"]
    assert_contract(changed, user_id="U0ALICE", user_name="alice", since=before)


def test_the_modal_sends_the_rating_again_with_what_was_wrong(posted, slack, streams, engine_bus):
    view_id = slack.click(CHANNEL, posted, "feedback_needs_improvement", user_id="U0BOB").opened_view_id
    slack.submit_view(view_id, {modal.REASON_BLOCK: {modal.REASON_ACTION: "wrong_commands"},
                                modal.DETAILS_BLOCK: {modal.DETAILS_ACTION: "The rollback needs --to-revision=3"}})
    streams.drain()

    clicked, commented = engine_bus.details("feedback.recorded")
    assert (clicked["rating"], "reason" in clicked, "comment" in clicked) == ("needs_improvement", False, False)
    assert (commented["rating"], commented["reason"], commented["comment"]) == (
        "needs_improvement", "wrong_commands", "The rollback needs --to-revision=3")
    assert commented["event_id"] != clicked["event_id"]
    assert_contract(commented, user_id="U0BOB", user_name="bob", since=0)


# --- investigation.acknowledged ----------------------------------------------------------------------------------


def test_the_first_acknowledgement_is_shown_stored_and_sent_once(posted, slack, streams, engine_bus):
    before = time.time()

    answer = slack.click(CHANNEL, posted, "acknowledge", user_id="U0ALICE")

    assert answer.status == 200 and answer.body == ""
    shown = line(slack, posted, "acknowledged")
    assert shown is not None and shown.startswith("Acknowledged by <@U0ALICE> · <!date^")
    row = item(keys.ack_key("t_acme", INVESTIGATION))
    assert (row["user_id"], row["user_name"], row["channel_id"], row["message_ts"]) == (
        "U0ALICE", "alice", CHANNEL, posted)
    assert row["acknowledged_at"] >= int(before)
    updates = len(slack.calls_to("chat.update"))

    # Later clicks (someone else, the same person again, Slack retrying) change nothing.
    slack.click(CHANNEL, posted, "acknowledge", user_id="U0BOB")
    slack.click(CHANNEL, posted, "acknowledge", user_id="U0ALICE", retries=1)
    slack.click(CHANNEL, posted, "acknowledge", user_id="U0BOB")
    streams.drain()

    assert line(slack, posted, "acknowledged") == shown
    assert item(keys.ack_key("t_acme", INVESTIGATION)) == row
    [event] = engine_bus.details()
    assert_contract(event, user_id="U0ALICE", user_name="alice", since=before)
    assert set(event) == CONTRACT_FIELDS
    # Only the retry refreshed the message (the first attempt may have died before its update).
    assert len(slack.calls_to("chat.update")) == updates + 1


def test_the_acknowledgement_survives_a_reinvestigation_and_the_resolve(aws, posted, slack):
    slack.click(CHANNEL, posted, "acknowledge", user_id="U0ALICE")
    shown = line(slack, posted, "acknowledged")

    deliver(aws, example(root_cause="Memory limit too low after rollout 2.14 (re-investigated)."))
    assert "re-investigated" in json.dumps(slack.message(CHANNEL, posted).blocks)
    assert line(slack, posted, "acknowledged") == shown

    deliver(aws, {"version": "1", "type": "alert.resolved", "investigation_id": INVESTIGATION, "tenant_id": "t_acme",
                  "resolved_at": "2026-11-27T09:30:00Z"})
    blocks = slack.message(CHANNEL, posted).blocks
    assert blocks[0]["text"]["text"].startswith("✅")
    assert line(slack, posted, "acknowledged") == shown
    ids = [b.get("block_id") for b in blocks]
    assert ids.index("resolved") < ids.index("acknowledged") < ids.index("summary")


# --- investigation.reinvestigation_requested ------------------------------------------------------------------


def test_reinvestigate_asks_the_engine_and_tells_the_person_who_asked(posted, slack, streams, engine_bus):
    before = time.time()

    answer = slack.click(CHANNEL, posted, "investigation_menu", user_id="U0BOB", option="reinvestigate")

    assert answer.status == 200
    [note] = slack.ephemeral_messages(CHANNEL)
    assert note.ephemeral_to == "U0BOB" and "Re-investigation requested" in note.text
    streams.drain()
    [event] = engine_bus.received()
    assert event["detail-type"] == "investigation.reinvestigation_requested"
    assert_contract(event["detail"], user_id="U0BOB", user_name="bob", since=before)
    assert set(event["detail"]) == CONTRACT_FIELDS
    # The message itself is unchanged: the engine's new analysis will update it.
    assert slack.calls_to("chat.update") == []


def test_a_slack_retry_of_reinvestigate_requests_nothing_twice(posted, slack, streams, engine_bus):
    slack.click(CHANNEL, posted, "investigation_menu", user_id="U0BOB", option="reinvestigate", retries=2)
    streams.drain()

    assert len(engine_bus.details("investigation.reinvestigation_requested")) == 1


def test_a_click_from_another_workspace_reaches_nobody(functions, posted, slack, streams, engine_bus):
    # A payload naming the investigation, signed by Slack but from a team that did not install this tenant.
    slack.add_team("T0EVIL", "Evil Corp")
    message = slack.message(CHANNEL, posted)
    acknowledge = next(e for b in message.blocks if b.get("block_id") == "portal" for e in b["elements"]
                       if e["action_id"] == "acknowledge")
    for action in ({"action_id": "acknowledge", "block_id": "portal", "type": "button", "value": acknowledge["value"]},
                   {"action_id": "investigation_menu", "block_id": "portal", "type": "overflow", "action_ts": "1.5",
                    "selected_option": {"value": "reinvestigate"}}):
        payload = {"type": "block_actions", "team": {"id": "T0EVIL"}, "user": {"id": "U0EVE", "username": "eve"},
                   "channel": {"id": "C0EVILGENERAL"},
                   "container": {"message_ts": posted, "channel_id": "C0EVILGENERAL"},
                   "message": message.to_api(), "actions": [action]}
        body = form_body(payload)
        answer = call_http(functions, "POST", "/slack/interactions", body=body,
                           headers=signed_headers(body, slack.signing_secret))
        assert answer.status == 200
    streams.drain()

    assert engine_bus.received() == []
    assert item(keys.ack_key("t_acme", INVESTIGATION)) is None


# --- two people at the same moment ------------------------------------------------------------------------


def _stale_click(functions, slack, blocks: list[dict[str, Any]], ts: str, action: dict[str, Any], user: str) -> None:
    """A click whose payload carries the message as it was before another click updated it."""
    payload = {"type": "block_actions", "team": {"id": "T0LOCAL", "domain": "local"},
               "user": {"id": user, "username": user.lower(), "team_id": "T0LOCAL"},
               "channel": {"id": CHANNEL, "name": "prod"},
               "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL},
               "message": {"ts": ts, "text": "alert", "blocks": blocks}, "actions": [action],
               "response_url": slack.response_url_for(CHANNEL, ts, user)}
    body = form_body(payload)
    assert call_http(functions, "POST", "/slack/interactions", body=body,
                     headers=signed_headers(body, slack.signing_secret)).status == 200


def _element(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    return next(e for b in blocks if b.get("type") == "actions" for e in b["elements"] if e["action_id"] == action_id)


def test_a_rating_and_an_acknowledgement_at_the_same_moment_both_stay_on_the_message(functions, posted, slack):
    before = slack.message(CHANNEL, posted).blocks  # what both people saw when they clicked

    slack.click(CHANNEL, posted, "acknowledge", user_id="U0ALICE")
    rate = _element(before, "feedback_accurate")
    _stale_click(functions, slack, before, posted,
                 {"action_id": "feedback_accurate", "block_id": "feedback", "type": "button", "value": rate["value"]},
                 "U0BOB")

    assert line(slack, posted, "acknowledged").startswith("Acknowledged by <@U0ALICE>")
    assert line(slack, posted, "feedback_summary") == "Rated *Accurate* by <@U0BOB>"


def test_an_acknowledgement_from_before_a_rating_keeps_the_rating_line(functions, posted, slack):
    before = slack.message(CHANNEL, posted).blocks

    slack.click(CHANNEL, posted, "feedback_partially_accurate", user_id="U0BOB")
    acknowledge = _element(before, "acknowledge")
    _stale_click(functions, slack, before, posted,
                 {"action_id": "acknowledge", "block_id": "portal", "type": "button", "value": acknowledge["value"]},
                 "U0ALICE")

    assert line(slack, posted, "feedback_summary") == "Rated *Partially Accurate* by <@U0BOB>"
    assert line(slack, posted, "acknowledged").startswith("Acknowledged by <@U0ALICE>")
