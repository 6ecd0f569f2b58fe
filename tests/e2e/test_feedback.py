"""Feedback buttons end to end: a posted investigation in the Slack stand-in, clicks sent by the stand-in to the
local API gateway (signed, base64 form bodies as API Gateway delivers them), the rows written and the message
as the channel shows it afterwards."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from slack_sdk import WebClient

from sre_slack.blocks import modal
from sre_slack.blocks.feedback_line import FEEDBACK_SUMMARY_BLOCK_ID
from sre_slack.blocks.investigation import build_investigation_message
from sre_slack.contracts.investigation import parse_investigation_message
from sre_slack.contracts.settings import get_settings
from sre_slack.storage import keys
from sre_slack.storage.table import from_item, to_item
from tests.support import call_http, form_body, run_install, signed_headers

CHANNEL = "C0ALERTS"
EXAMPLE = json.loads((Path(__file__).parents[2] / "events" / "investigation_completed.json").read_text())


@pytest.fixture
def installed(functions, slack) -> str:
    slack.add_channel(CHANNEL, "alerts", bot_member=True)
    run_install(functions, slack, tenant="t_acme", team_id="T0LOCAL")
    return "t_acme"


def post_investigation(slack, tenant: str = "t_acme", investigation_id: str = "inv_01", *, test: bool = False,
                       team_id: str = "T0LOCAL", channel: str = CHANNEL, seen: bool = True) -> str:
    """What the posting pipeline leaves behind: the SEEN marker and the message in the channel."""
    inv = parse_investigation_message(json.dumps({**EXAMPLE, "investigation_id": investigation_id,
                                                  "tenant_id": tenant, "test": test}))
    if seen:
        boto3.client("dynamodb").put_item(TableName=get_settings().table_name, Item=to_item(
            {**keys.seen_key(tenant, investigation_id), "tenant_id": tenant, "investigation_id": investigation_id}))
    message = build_investigation_message(inv, tenant_id=tenant)
    token = slack.tokens_for(team_id)[0]
    return WebClient(token=token, base_url=slack.api_url).chat_postMessage(
        channel=channel, **message.as_kwargs())["ts"]


def feedback_rows(tenant: str = "t_acme", investigation_id: str = "inv_01") -> dict[str, dict]:
    items = boto3.client("dynamodb").query(
        TableName=get_settings().table_name, KeyConditionExpression="pk = :pk AND begins_with(sk, :f)",
        ExpressionAttributeValues={":pk": {"S": keys.investigation_pk(tenant, investigation_id)},
                                   ":f": {"S": keys.FEEDBACK_PREFIX}})["Items"]
    return {row["user_id"]: row for row in map(from_item, items)}


def day_counts(tenant: str = "t_acme") -> dict[str, int]:
    item = boto3.client("dynamodb").get_item(TableName=get_settings().table_name,
                                             Key=to_item(keys.counts_key(tenant, datetime.now(UTC).date())))
    values = from_item(item.get("Item") or {})
    return {k.removeprefix("rating#"): v for k, v in values.items() if k.startswith("rating#")}


def feedback_line(slack, ts: str, channel: str = CHANNEL) -> str | None:
    message = slack.message(channel, ts)
    assert message is not None
    for block in message.blocks:
        if block.get("block_id") == FEEDBACK_SUMMARY_BLOCK_ID:
            return block["elements"][0]["text"]
    return None


def button_labels(slack, ts: str) -> list[str]:
    blocks = slack.message(CHANNEL, ts).blocks
    feedback = next(b for b in blocks if b.get("block_id") == "feedback")
    return [element["text"]["text"] for element in feedback["elements"]]


# --- clicks through the stand-in ------------------------------------------------------------------------


@pytest.mark.parametrize(("action_id", "rating", "label"), [
    ("feedback_accurate", "accurate", "Accurate"),
    ("feedback_partially_accurate", "partially_accurate", "Partially Accurate"),
    ("feedback_needs_improvement", "needs_improvement", "Needs Improvement"),
])
def test_each_button_records_the_rating_and_shows_it_in_the_message(gateway, installed, slack, action_id, rating,
                                                                     label):
    ts = post_investigation(slack)
    before = time.time()

    answer = slack.click(CHANNEL, ts, action_id, user_id="U0ALICE")

    assert answer.status == 200 and answer.body == ""
    row = feedback_rows()["U0ALICE"]
    assert (row["rating"], row["team_id"], row["channel_id"], row["message_ts"]) == (rating, "T0LOCAL", CHANNEL, ts)
    assert row["user_name"] == "alice" and row["rated_at"] >= int(before)
    assert day_counts() == {rating: 1}
    assert feedback_line(slack, ts) == f"Rated *{label}* by <@U0ALICE>"
    assert button_labels(slack, ts) == ["Accurate", "Partially Accurate", "Needs Improvement"]
    assert len(slack.calls_to("chat.update")) == 1


def test_second_rater_and_a_changed_rating_are_counted_once_each(gateway, installed, slack):
    ts = post_investigation(slack)
    slack.click(CHANNEL, ts, "feedback_accurate", user_id="U0ALICE")
    slack.click(CHANNEL, ts, "feedback_partially_accurate", user_id="U0BOB")
    assert feedback_line(slack, ts) == (
        "Rated *Partially Accurate* by <@U0BOB> · 2 ratings: 1 Accurate, 1 Partially Accurate")

    slack.click(CHANNEL, ts, "feedback_partially_accurate", user_id="U0ALICE")

    rows = feedback_rows()
    assert {user: row["rating"] for user, row in rows.items()} == {"U0ALICE": "partially_accurate",
                                                                    "U0BOB": "partially_accurate"}
    assert rows["U0ALICE"]["previous_rating"] == "accurate" and rows["U0ALICE"]["changes"] == 1
    assert day_counts() == {"accurate": 0, "partially_accurate": 2}
    assert feedback_line(slack, ts) == "Rated *Partially Accurate* by <@U0ALICE> · 2 ratings: 2 Partially Accurate"


def test_double_click_changes_nothing_twice(gateway, installed, slack):
    ts = post_investigation(slack)
    slack.click(CHANNEL, ts, "feedback_accurate", user_id="U0ALICE")
    first = feedback_rows()["U0ALICE"]

    again = slack.click(CHANNEL, ts, "feedback_accurate", user_id="U0ALICE")

    assert again.status == 200
    assert feedback_rows()["U0ALICE"] == first
    assert day_counts() == {"accurate": 1}
    assert len(slack.calls_to("chat.update")) == 1


def test_needs_improvement_opens_the_modal_and_the_submission_is_stored_with_the_rating(gateway, installed, slack):
    ts = post_investigation(slack)

    click = slack.click(CHANNEL, ts, "feedback_needs_improvement", user_id="U0BOB")

    assert click.status == 200 and click.opened_view_id
    view = next(v for v in slack.open_views("U0BOB") if v.id == click.opened_view_id)
    assert view.definition["callback_id"] == modal.CALLBACK_ID
    reason_block = next(b for b in view.definition["blocks"] if b.get("block_id") == modal.REASON_BLOCK)
    assert [o["text"]["text"] for o in reason_block["element"]["options"]] == [
        "Wrong root cause", "Missing context", "Wrong commands", "Other"]
    assert feedback_rows()["U0BOB"]["rating"] == "needs_improvement"

    submitted = slack.submit_view(view.id, {
        modal.REASON_BLOCK: {modal.REASON_ACTION: "wrong_commands"},
        modal.DETAILS_BLOCK: {modal.DETAILS_ACTION: "The rollback needs --to-revision=3"},
    })

    assert submitted.status == 200 and submitted.body == ""
    assert slack.open_views("U0BOB") == []
    row = feedback_rows()["U0BOB"]
    assert (row["rating"], row["reason"], row["comment"]) == ("needs_improvement", "wrong_commands",
                                                              "The rollback needs --to-revision=3")
    assert day_counts() == {"needs_improvement": 1}


def test_modal_asks_again_when_other_has_no_text(gateway, installed, slack):
    ts = post_investigation(slack)
    view_id = slack.click(CHANNEL, ts, "feedback_needs_improvement").opened_view_id

    answer = slack.submit_view(view_id, {modal.REASON_BLOCK: {modal.REASON_ACTION: "other"}})

    assert answer.status == 200
    assert answer.json()["response_action"] == "errors"
    assert modal.DETAILS_BLOCK in answer.json()["errors"]
    assert [v.id for v in slack.open_views()] == [view_id]
    assert "reason" not in feedback_rows()["U0ALICE"]


def test_closing_the_modal_keeps_the_rating(gateway, installed, slack, functions):
    ts = post_investigation(slack)
    view_id = slack.click(CHANNEL, ts, "feedback_needs_improvement").opened_view_id
    view = next(v for v in slack.views if v.id == view_id)
    slack.close_view(view_id)
    # Slack sends view_closed because the modal asks for it (notify_on_close).
    assert view.definition["notify_on_close"] is True
    closed = {"type": "view_closed", "team": {"id": "T0LOCAL"}, "user": {"id": "U0ALICE"},
              "view": view.to_api(), "is_cleared": False}

    answer = _post_payload(functions, slack, closed)

    assert answer.status == 200
    assert feedback_rows()["U0ALICE"]["rating"] == "needs_improvement"
    assert day_counts() == {"needs_improvement": 1}


def test_test_investigation_ratings_are_stored_but_not_counted(gateway, installed, slack):
    ts = post_investigation(slack, test=True)
    slack.click(CHANNEL, ts, "feedback_accurate")
    assert feedback_rows()["U0ALICE"]["rating"] == "accurate"
    assert day_counts() == {}
    assert feedback_line(slack, ts) == "Rated *Accurate* by <@U0ALICE>"


def test_portal_link_click_is_acknowledged_without_a_write(gateway, installed, slack):
    ts = post_investigation(slack)
    answer = slack.click(CHANNEL, ts, "open_portal")
    assert answer.status == 200
    assert feedback_rows() == {}
    assert slack.calls_to("chat.update") == []


# --- crafted payloads (retries, other tenants, garbage) ------------------------------------------------


def _click_payload(slack, ts: str, action_id: str, *, value: str | None = None, team_id: str = "T0LOCAL",
                   user_id: str = "U0BOB", channel: str = CHANNEL) -> dict:
    message = slack.message(channel, ts)
    button = next(e for b in message.blocks if b.get("block_id") == "feedback" for e in b["elements"]
                  if e["action_id"] == action_id)
    return {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "x"},
        "user": {"id": user_id, "username": "bob", "team_id": team_id},
        "channel": {"id": channel, "name": "alerts"},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "message": message.to_api(),
        "trigger_id": slack.issue_trigger(team_id if team_id in ("T0LOCAL",) else "T0LOCAL", user_id),
        "response_url": slack.response_url_for(channel, ts, user_id),
        "actions": [{"action_id": action_id, "block_id": "feedback", "type": "button",
                     "value": button["value"] if value is None else value}],
    }


def _post_payload(functions, slack, payload: dict | None = None, *, body: str | None = None,
                  retry_num: int | None = None):
    body = form_body(payload) if body is None else body
    headers = signed_headers(body, slack.signing_secret)
    if retry_num is not None:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    return call_http(functions, "POST", "/slack/interactions", body=body.encode(), headers=headers, is_base64=True)


def test_slack_retry_of_a_click_counts_once_and_still_updates_the_message(functions, installed, slack):
    ts = post_investigation(slack)
    payload = _click_payload(slack, ts, "feedback_accurate")
    assert _post_payload(functions, slack, payload).status == 200

    retried = _post_payload(functions, slack, payload, retry_num=1)

    assert retried.status == 200
    assert {u: r["rating"] for u, r in feedback_rows().items()} == {"U0BOB": "accurate"}
    assert day_counts() == {"accurate": 1}
    assert feedback_line(slack, ts) == "Rated *Accurate* by <@U0BOB>"


def test_click_from_another_workspace_is_a_no_op(functions, installed, slack):
    slack.add_team("T0EVIL", "Evil Corp")
    ts = post_investigation(slack)
    payload = _click_payload(slack, ts, "feedback_accurate", team_id="T0EVIL")

    answer = _post_payload(functions, slack, payload)

    assert answer.status == 200
    assert feedback_rows() == {} and day_counts() == {}
    assert slack.calls_to("chat.update") == [] and slack.calls_to("views.open") == []


def test_click_naming_another_tenant_is_refused(functions, installed, slack):
    # Tenant t_other installed another workspace; a button value crafted in T0LOCAL names its investigation.
    slack.add_team("T0OTHER", "Other Co")
    run_install(functions, slack, tenant="t_other", team_id="T0OTHER")
    ts = post_investigation(slack)
    post_investigation(slack, tenant="t_other", investigation_id="inv_theirs", team_id="T0OTHER",
                       channel="C0OTHERGENERAL")
    payload = _click_payload(slack, ts, "feedback_accurate", value=json.dumps({"t": "t_other", "i": "inv_theirs"}))

    assert _post_payload(functions, slack, payload).status == 200
    assert feedback_rows("t_other", "inv_theirs") == {} and day_counts("t_other") == {}


def test_unknown_investigation_writes_nothing(functions, installed, slack):
    ts = post_investigation(slack, investigation_id="inv_gone", seen=False)
    payload = _click_payload(slack, ts, "feedback_accurate")

    assert _post_payload(functions, slack, payload).status == 200
    assert feedback_rows(investigation_id="inv_gone") == {} and day_counts() == {}
    assert slack.calls_to("chat.update") == []


@pytest.mark.parametrize("body", ["payload=%7Bnot+json", "payload=%5B1%5D", "nothing=here", "",
                                  "payload=%7B%22type%22%3A%22block_actions%22%7D"])
def test_payload_slack_would_never_send_is_400(functions, installed, slack, body):
    answer = _post_payload(functions, slack, body=body)
    assert answer.status == 400
    assert answer.json["error"] == "invalid_payload"


def test_unknown_action_and_unknown_interaction_are_acknowledged(functions, installed, slack):
    ts = post_investigation(slack)
    payload = _click_payload(slack, ts, "feedback_accurate")
    payload["actions"][0]["action_id"] = "feedback_brilliant"
    assert _post_payload(functions, slack, payload).status == 200
    assert _post_payload(functions, slack, {"type": "shortcut", "callback_id": "x"}).status == 200
    assert feedback_rows() == {}


# --- the portal's view ------------------------------------------------------------------------------------


def test_portal_reads_ratings_and_comments_of_its_own_tenant_only(gateway, installed, slack, functions):
    ts = post_investigation(slack)
    slack.click(CHANNEL, ts, "feedback_accurate", user_id="U0ALICE")
    view_id = slack.click(CHANNEL, ts, "feedback_needs_improvement", user_id="U0BOB").opened_view_id
    slack.submit_view(view_id, {modal.REASON_BLOCK: {modal.REASON_ACTION: "missing_context"}})

    answer = call_http(functions, "GET", "/investigations/inv_01/feedback", tenant="t_acme",
                       function="PortalApiFunction")

    assert answer.status == 200
    body = answer.json
    assert body["total"] == 2
    assert body["counts"] == {"accurate": 1, "partially_accurate": 0, "needs_improvement": 1}
    by_user = {r["user_id"]: r for r in body["ratings"]}
    assert by_user["U0ALICE"]["label"] == "Accurate"
    assert (by_user["U0BOB"]["rating"], by_user["U0BOB"]["reason_label"]) == ("needs_improvement",
                                                                              "Missing context")
    assert by_user["U0BOB"]["rated_at"].endswith("Z")
    assert by_user["U0ALICE"]["previous"] is None and by_user["U0BOB"]["previous"] is None

    other = call_http(functions, "GET", "/investigations/inv_01/feedback", tenant="t_other",
                      function="PortalApiFunction")
    assert other.status == 200 and other.json["ratings"] == [] and other.json["total"] == 0


def test_changing_away_from_needs_improvement_keeps_the_comment_as_history_only(gateway, installed, slack,
                                                                                functions):
    ts = post_investigation(slack)
    view_id = slack.click(CHANNEL, ts, "feedback_needs_improvement", user_id="U0BOB").opened_view_id
    slack.submit_view(view_id, {modal.REASON_BLOCK: {modal.REASON_ACTION: "wrong_commands"},
                                modal.DETAILS_BLOCK: {modal.DETAILS_ACTION: "The rollback needs --to-revision=3"}})

    slack.click(CHANNEL, ts, "feedback_accurate", user_id="U0BOB")

    row = feedback_rows()["U0BOB"]
    assert row["rating"] == "accurate"
    assert "reason" not in row and "comment" not in row
    assert (row["previous_comment_rating"], row["previous_reason"], row["previous_comment"]) == (
        "needs_improvement", "wrong_commands", "The rollback needs --to-revision=3")
    assert feedback_line(slack, ts) == "Rated *Accurate* by <@U0BOB>"
    answer = call_http(functions, "GET", "/investigations/inv_01/feedback", tenant="t_acme",
                       function="PortalApiFunction")
    [rating] = answer.json["ratings"]
    assert (rating["rating"], rating["reason"], rating["reason_label"], rating["comment"]) == (
        "accurate", None, None, None)
    previous = rating["previous"]
    assert {key: previous[key] for key in ("rating", "label", "reason", "reason_label", "comment")} == {
        "rating": "needs_improvement", "label": "Needs Improvement", "reason": "wrong_commands",
        "reason_label": "Wrong commands", "comment": "The rollback needs --to-revision=3"}
    assert previous["commented_at"].endswith("Z")
    assert answer.json["counts"] == {"accurate": 1, "partially_accurate": 0, "needs_improvement": 0}


def test_each_recorded_rating_emits_a_metric_by_rating(functions, installed, slack, capsys):
    ts = post_investigation(slack)
    capsys.readouterr()
    _post_payload(functions, slack, _click_payload(slack, ts, "feedback_partially_accurate"))
    _post_payload(functions, slack, _click_payload(slack, ts, "feedback_partially_accurate"))  # double click

    out = capsys.readouterr().out
    emitted = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    ratings = [doc["rating"] for doc in emitted if "FeedbackRating" in doc]
    assert ratings == ["partially_accurate"]
    metric = next(doc for doc in emitted if "FeedbackRating" in doc)["_aws"]["CloudWatchMetrics"][0]
    assert metric["Namespace"] == "AiSre/Slack" and "rating" in metric["Dimensions"][0]
