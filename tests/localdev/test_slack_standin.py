"""The Slack stand-in behaves like Slack as slack_sdk sees it (the rest of the suite relies on that)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from localdev.slack_standin import SlackStandIn

REDIRECT = "https://app.example.test/slack/oauth/callback"
CLIENT_ID = "local-client-id"
CLIENT_SECRET = "local-client-secret"


@pytest.fixture(scope="module")
def server() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def slack(server: SlackStandIn) -> Iterator[SlackStandIn]:
    server.reset()
    yield server
    server.reset()


def client(slack: SlackStandIn, token: str | None = None, **kwargs: Any) -> WebClient:
    # No retry handlers unless a test asks: each test sees exactly what the server answered.
    kwargs.setdefault("retry_handlers", [])
    return WebClient(token=token, base_url=slack.api_url, **kwargs)


def bot(slack: SlackStandIn, scopes: str | None = None, team_id: str = "T0LOCAL") -> WebClient:
    token = slack.issue_token(team_id) if scopes is None else slack.issue_token(team_id, scopes)
    return client(slack, token)


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_form(url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """POST without following redirects: (status, headers, body)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=urlencode(form).encode(), headers=headers or {}, method="POST")
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# -- OAuth ---------------------------------------------------------------------------------------------
def exchange(slack: SlackStandIn, code: str, redirect_uri: str = REDIRECT, secret: str = CLIENT_SECRET) -> Any:
    return client(slack).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=secret, code=code, redirect_uri=redirect_uri
    )


def test_code_exchange_answers_slacks_shape_and_the_token_works(slack: SlackStandIn) -> None:
    code = slack.issue_code(REDIRECT, scopes="chat:write,channels:read")
    answer = exchange(slack, code)
    assert answer["access_token"].startswith("xoxb-")
    assert answer["token_type"] == "bot"
    assert set(answer["scope"].split(",")) == {"chat:write", "channels:read"}
    assert answer["bot_user_id"] == "U0BOT"
    assert answer["app_id"] == "A0LOCAL"
    assert answer["team"] == {"id": "T0LOCAL", "name": "Local Dev Workspace"}
    assert answer["enterprise"] is None
    assert answer["authed_user"]["id"] == "U0ALICE"
    assert answer["is_enterprise_install"] is False
    assert "refresh_token" not in answer

    me = client(slack, answer["access_token"]).auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == ("T0LOCAL", "U0BOT", "B0BOT")
    assert me["is_enterprise_install"] is False
    assert slack.tokens_for("T0LOCAL") == [answer["access_token"]]


def test_a_code_works_once(slack: SlackStandIn) -> None:
    code = slack.issue_code(REDIRECT)
    exchange(slack, code)
    assert api_error(lambda: exchange(slack, code)).response["error"] == "invalid_code"


def test_unknown_code_bad_redirect_and_bad_credentials_are_refused(slack: SlackStandIn) -> None:
    assert api_error(lambda: exchange(slack, "123.nope")).response["error"] == "invalid_code"
    code = slack.issue_code(REDIRECT)
    wrong_redirect = api_error(lambda: exchange(slack, code, redirect_uri="https://evil.example/cb"))
    assert wrong_redirect.response["error"] == "bad_redirect_uri"
    assert api_error(lambda: exchange(slack, code, secret="wrong")).response["error"] == "bad_client_secret"
    bad_id = api_error(lambda: client(slack).oauth_v2_access(client_id="other", client_secret=CLIENT_SECRET, code=code))
    assert bad_id.response["error"] == "invalid_client_id"
    # None of the refusals spent the code.
    assert exchange(slack, code)["ok"] is True


def test_client_credentials_may_come_as_form_fields(slack: SlackStandIn) -> None:
    code = slack.issue_code(REDIRECT)
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": REDIRECT}
    status, _, body = post_form(slack.api_url + "oauth.v2.access", form)
    assert status == 200
    assert json.loads(body)["access_token"].startswith("xoxb-")


def test_a_code_belongs_to_the_team_chosen_at_install(slack: SlackStandIn) -> None:
    slack.add_team("T0OTHER", "Other Co")
    token = exchange(slack, slack.issue_code(REDIRECT, team_id="T0OTHER"))["access_token"]
    other = client(slack, token)
    assert other.auth_test()["team_id"] == "T0OTHER"
    names = {c["id"] for c in other.conversations_list()["channels"]}
    assert names == {"C0OTHERGENERAL"}
    # The first workspace's channels do not exist for the second workspace's bot.
    assert api_error(lambda: other.chat_postMessage(channel="C0ALERTS", text="x")).response["error"] == (
        "channel_not_found"
    )
    assert slack.tokens_for("T0LOCAL") == []


# -- token rotation ------------------------------------------------------------------------------------
def test_rotation_refresh_invalidates_the_old_refresh_token_but_not_the_old_access_token(
    slack: SlackStandIn,
) -> None:
    slack.token_rotation = True
    first = exchange(slack, slack.issue_code(REDIRECT))
    assert first["access_token"].startswith("xoxe.xoxb-")
    assert first["refresh_token"].startswith("xoxe-1-")
    assert first["expires_in"] == 43200

    oauth = client(slack)
    second = oauth.oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
    )
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    reused = api_error(
        lambda: oauth.oauth_v2_access(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            grant_type="refresh_token",
            refresh_token=first["refresh_token"],
        )
    )
    assert reused.response["error"] == "invalid_refresh_token"
    assert client(slack, first["access_token"]).auth_test()["ok"] is True
    assert client(slack, second["access_token"]).auth_test()["ok"] is True

    slack.expire_token(first["access_token"])
    expired = api_error(lambda: client(slack, first["access_token"]).auth_test())
    assert expired.response["error"] == "token_expired"


def test_short_expiry_is_configurable(slack: SlackStandIn) -> None:
    slack.token_rotation = True
    slack.expires_in = 0
    answer = exchange(slack, slack.issue_code(REDIRECT))
    assert answer["expires_in"] == 0
    assert api_error(lambda: client(slack, answer["access_token"]).auth_test()).response["error"] == ("token_expired")


# -- tokens --------------------------------------------------------------------------------------------
def test_revoked_unknown_and_missing_tokens(slack: SlackStandIn) -> None:
    token = slack.issue_token()
    web = client(slack, token)
    assert web.auth_revoke()["revoked"] is True
    assert api_error(web.auth_test).response["error"] == "token_revoked"
    assert api_error(client(slack, "xoxb-made-up").auth_test).response["error"] == "invalid_auth"
    assert api_error(client(slack).auth_test).response["error"] == "not_authed"

    other = slack.issue_token()
    assert slack.revoke_token(other) is True
    assert api_error(client(slack, other).auth_test).response["error"] == "token_revoked"


def test_recorded_calls_never_show_a_token(slack: SlackStandIn) -> None:
    token = slack.issue_token()
    client(slack, token).chat_postMessage(channel="C0ALERTS", text="hello")
    post_form(slack.api_url + "auth.test", {"token": token})
    assert [c.method for c in slack.calls] == ["chat.postMessage", "auth.test"]
    assert token not in repr(slack.calls)
    assert slack.calls_to("auth.test")[0].params["token"].startswith("fp:")


# -- conversations -------------------------------------------------------------------------------------
def test_pagination_walks_250_channels_with_cursors(slack: SlackStandIn) -> None:
    added = slack.add_channels(250, prefix="load")
    web = bot(slack)
    seen: list[str] = []
    pages = 0
    for page in web.conversations_list(limit=100, exclude_archived=True):
        pages += 1
        seen.extend(c["id"] for c in page["channels"])
    assert pages == 3
    assert len(seen) == len(set(seen))
    assert set(added) <= set(seen)
    assert "C0OLD" not in seen
    assert set(seen) - set(added) == {"C0GENERAL", "C0ALERTS", "C0INCIDENTS"}


def test_list_shows_private_channels_only_where_the_bot_is(slack: SlackStandIn) -> None:
    listed = bot(slack).conversations_list(types="public_channel,private_channel")["channels"]
    by_id = {c["id"]: c for c in listed}
    assert "G0OPS" in by_id and "G0SECRET" not in by_id
    assert by_id["G0OPS"]["is_private"] is True and by_id["G0OPS"]["is_group"] is True
    assert by_id["C0GENERAL"]["is_member"] is False and by_id["C0ALERTS"]["is_member"] is True
    assert by_id["C0OLD"]["is_archived"] is True


def test_listing_private_channels_needs_groups_read(slack: SlackStandIn) -> None:
    web = bot(slack, scopes="channels:read,chat:write")
    failure = api_error(lambda: web.conversations_list(types="private_channel"))
    assert failure.response["error"] == "missing_scope"
    assert failure.response["needed"] == "groups:read"


def test_join_public_channel_makes_the_bot_a_member(slack: SlackStandIn) -> None:
    web = bot(slack, scopes="channels:read,channels:join,chat:write")
    assert api_error(lambda: web.chat_postMessage(channel="C0GENERAL", text="x")).response["error"] == (
        "not_in_channel"
    )
    assert web.conversations_join(channel="C0GENERAL")["channel"]["is_member"] is True
    assert web.chat_postMessage(channel="C0GENERAL", text="now I can")["ok"] is True
    private = api_error(lambda: web.conversations_join(channel="G0SECRET"))
    assert private.response["error"] == "channel_not_found"
    assert web.conversations_info(channel="C0GENERAL")["channel"]["is_member"] is True


# -- posting -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("channel", "scopes", "error"),
    [
        ("C0OLD", None, "is_archived"),
        ("G0SECRET", None, "channel_not_found"),
        ("C0NOPE", None, "channel_not_found"),
        ("C0GENERAL", "chat:write,channels:read", "not_in_channel"),
        ("C0ALERTS", "channels:read", "missing_scope"),
    ],
)
def test_posting_rules(slack: SlackStandIn, channel: str, scopes: str | None, error: str) -> None:
    web = bot(slack, scopes)
    assert api_error(lambda: web.chat_postMessage(channel=channel, text="x")).response["error"] == error
    assert slack.messages() == []


def test_chat_write_public_posts_without_joining(slack: SlackStandIn) -> None:
    answer = bot(slack).chat_postMessage(channel="C0GENERAL", text="hello")
    assert answer["channel"] == "C0GENERAL"
    assert slack.channel("C0GENERAL")["is_member"] is False
    assert [m.text for m in slack.messages("C0GENERAL")] == ["hello"]


def test_posted_messages_get_increasing_ts_and_are_stored(slack: SlackStandIn) -> None:
    web = bot(slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*first*"}}]
    first = web.chat_postMessage(channel="C0ALERTS", text="first", blocks=blocks)
    second = web.chat_postMessage(channel="#alerts", text="second")
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["bot_id"] == "B0BOT" and first["message"]["blocks"] == blocks
    stored = slack.message("C0ALERTS", first["ts"])
    assert stored is not None and stored.blocks == blocks and stored.text == "first"
    assert [m.ts for m in slack.messages("C0ALERTS")] == [first["ts"], second["ts"]]


def test_update_replaces_text_and_keeps_blocks_unless_given(slack: SlackStandIn) -> None:
    web = bot(slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "old"}}]
    ts = web.chat_postMessage(channel="C0ALERTS", text="old", blocks=blocks)["ts"]
    web.chat_update(channel="C0ALERTS", ts=ts, text="new")
    stored = slack.message("C0ALERTS", ts)
    assert stored is not None and stored.text == "new" and stored.blocks == blocks and stored.edited
    new_blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Resolved"}}]
    web.chat_update(channel="C0ALERTS", ts=ts, text="resolved", blocks=new_blocks)
    stored = slack.message("C0ALERTS", ts)
    assert stored is not None and stored.blocks == new_blocks
    assert len(slack.messages("C0ALERTS")) == 1


def test_update_refuses_unknown_and_foreign_messages(slack: SlackStandIn) -> None:
    web = bot(slack)
    missing = api_error(lambda: web.chat_update(channel="C0ALERTS", ts="1699999999.000001", text="x"))
    assert missing.response["error"] == "message_not_found"
    human_ts = slack.post_user_message("C0ALERTS", "written by alice")
    foreign = api_error(lambda: web.chat_update(channel="C0ALERTS", ts=human_ts, text="x"))
    assert foreign.response["error"] == "cant_update_message"


def test_form_encoded_post_with_token_field_and_json_blocks_string(slack: SlackStandIn) -> None:
    token = slack.issue_token()
    blocks = [{"type": "divider"}, {"type": "section", "text": {"type": "plain_text", "text": "hi"}}]
    form = {"token": token, "channel": "C0ALERTS", "text": "hi", "blocks": json.dumps(blocks)}
    status, _, body = post_form(slack.api_url + "chat.postMessage", form)
    assert status == 200 and json.loads(body)["ok"] is True
    assert slack.messages("C0ALERTS")[0].blocks == blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(**overrides: Any) -> dict[str, Any]:
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go", "value": "v"}
    button.update(overrides)
    return button


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("text", "blocks", "error"),
    [
        (None, None, "no_text"),
        ("x" * 40_001, None, "msg_too_long"),
        ("t", [{"type": "divider"}] * 51, "invalid_blocks"),
        ("t", [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "invalid_blocks"),
        ("t", [_section("s" * 3001)], "invalid_blocks"),
        ("t", [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "invalid_blocks"),
        ("t", [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "invalid_blocks"),
        (
            "t",
            [{"type": "actions", "elements": [_button(text={"type": "plain_text", "text": "b" * 76})]}],
            "invalid_blocks",
        ),
        ("t", [{"type": "actions", "elements": [_button(value="v" * 2001)]}], "invalid_blocks"),
        ("t", [{"type": "actions", "elements": [_button(action_id="a" * 256)]}], "invalid_blocks"),
        ("t", [{**_section("s"), "block_id": "b" * 256}], "invalid_blocks"),
        ("t", [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "invalid_blocks"),
        (
            "t",
            [{"type": "actions", "elements": [_button(action_id=f"a{i}") for i in range(26)]}],
            "invalid_blocks",
        ),
        ("t", [_section("s" * 2900) for _ in range(5)], "msg_blocks_too_long"),
    ],
    ids=[
        "no-text",
        "text-too-long",
        "51-blocks",
        "header-151",
        "section-3001",
        "11-fields",
        "field-2001",
        "button-text-76",
        "button-value-2001",
        "action-id-256",
        "block-id-256",
        "context-11",
        "actions-26",
        "blocks-total-14500",
    ],
)
def test_blocks_validation_surfaces_slacks_error(
    slack: SlackStandIn, text: str | None, blocks: list | None, error: str
) -> None:
    web = bot(slack)
    failure = api_error(lambda: web.chat_postMessage(channel="C0ALERTS", text=text, blocks=blocks))
    assert failure.response["error"] == error
    assert slack.messages("C0ALERTS") == []


def test_blocks_at_the_limits_are_accepted(slack: SlackStandIn) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 200}] * 10},
        {"type": "actions", "elements": [_button(action_id="a" * 255, value="v" * 2000)]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        _section("s" * 3000),
    ]
    assert bot(slack).chat_postMessage(channel="C0ALERTS", text="t", blocks=blocks)["ok"] is True


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_update_validates_blocks_too(slack: SlackStandIn) -> None:
    web = bot(slack)
    ts = web.chat_postMessage(channel="C0ALERTS", text="x")["ts"]
    failure = api_error(lambda: web.chat_update(channel="C0ALERTS", ts=ts, blocks=[_section("s" * 3001)]))
    assert failure.response["error"] == "invalid_blocks"
    assert slack.message("C0ALERTS", ts).text == "x"  # type: ignore[union-attr]


def test_invalid_blocks_errors_point_at_the_broken_field(slack: SlackStandIn) -> None:
    blocks = [
        _section("ok"),
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
        {"type": "actions", "elements": [_button(style="loud")]},
    ]
    failure = api_error(lambda: bot(slack).chat_postMessage(channel="C0ALERTS", text="t", blocks=blocks))
    assert failure.response["error"] == "invalid_blocks"
    errors = failure.response["errors"]
    assert len(errors) == 2
    assert errors[0].endswith("[json-pointer:/blocks/1/text]") and "151 characters" in errors[0]
    # A rule only slack_sdk's validation knows is Slack's answer here too.
    assert errors[1].endswith("[json-pointer:/blocks/2]") and "style" in errors[1]


# -- faults --------------------------------------------------------------------------------------------
def test_429_with_retry_after_reaches_slack_sdk(slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", retry_after=30)
    failure = api_error(lambda: bot(slack).chat_postMessage(channel="C0ALERTS", text="x"))
    assert failure.response.status_code == 429
    assert failure.response.headers["Retry-After"] == "30"
    assert failure.response["error"] == "ratelimited"
    assert slack.messages() == []
    # Only the next call fails.
    assert bot(slack).chat_postMessage(channel="C0ALERTS", text="x")["ok"] is True


@pytest.mark.parametrize(("status", "error"), [(500, "internal_error"), (503, "service_unavailable")])
def test_server_errors(slack: SlackStandIn, status: int, error: str) -> None:
    slack.fail_next("chat.postMessage", status=status)
    failure = api_error(lambda: bot(slack).chat_postMessage(channel="C0ALERTS", text="x"))
    assert failure.response.status_code == status
    assert failure.response["error"] == error


def test_scripted_slack_error_only_for_one_channel(slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", error="fatal_error", channel="C0INCIDENTS", times=2)
    web = bot(slack)
    assert web.chat_postMessage(channel="C0ALERTS", text="fine")["ok"] is True
    for _ in range(2):
        failure = api_error(lambda: web.chat_postMessage(channel="C0INCIDENTS", text="x"))
        assert (failure.response.status_code, failure.response["error"]) == (200, "fatal_error")
    assert web.chat_postMessage(channel="C0INCIDENTS", text="fine again")["ok"] is True
    assert [c.error for c in slack.calls_to("chat.postMessage")] == [None, "fatal_error", "fatal_error", None]


def test_dropped_connection_is_a_reset_for_slack_sdk(slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", close_connection=True)
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        bot(slack).chat_postMessage(channel="C0ALERTS", text="x")
    assert slack.messages() == []
    assert slack.calls_to("chat.postMessage")[0].error == "connection_reset"


def test_slack_sdk_connection_retry_recovers_from_one_drop(slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", close_connection=True)
    web = client(slack, slack.issue_token(), retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)])
    assert web.chat_postMessage(channel="C0ALERTS", text="x")["ok"] is True
    assert len(slack.messages("C0ALERTS")) == 1


def test_channel_rate_limit_answers_429_past_the_burst(slack: SlackStandIn) -> None:
    # A refill rate so low that the test's own speed cannot matter.
    slack.enforce_channel_rate(max_per_second=0.001, burst=3)
    web = bot(slack)
    for i in range(3):
        web.chat_postMessage(channel="C0ALERTS", text=str(i))
    failure = api_error(lambda: web.chat_postMessage(channel="C0ALERTS", text="too many"))
    assert failure.response.status_code == 429
    assert int(failure.response.headers["Retry-After"]) >= 1
    # The limit is per channel.
    assert web.chat_postMessage(channel="C0INCIDENTS", text="other channel")["ok"] is True
    assert len(slack.messages("C0ALERTS")) == 3


# -- authorize page ------------------------------------------------------------------------------------
def authorize_query(state: str = "st4te", team: str | None = None) -> dict[str, str]:
    query = {
        "client_id": CLIENT_ID,
        "scope": "chat:write,channels:read",
        "redirect_uri": REDIRECT,
        "state": state,
    }
    if team:
        query["team"] = team
    return query


def test_authorize_page_shows_app_scopes_and_buttons(slack: SlackStandIn) -> None:
    status, html = get(slack.authorize_url + "?" + urlencode(authorize_query()))
    assert status == 200
    for expected in ("AI SRE", "chat:write", "channels:read", "Local Dev Workspace", "Allow", "Cancel"):
        assert expected in html
    status, html = get(slack.authorize_url + "?" + urlencode({**authorize_query(), "client_id": "other"}))
    assert status == 400 and "invalid_client_id" in html


def test_allow_redirects_with_a_code_that_exchanges(slack: SlackStandIn) -> None:
    slack.add_team("T0OTHER", "Other Co")
    form = {**authorize_query(team="T0OTHER"), "decision": "allow"}
    status, headers, _ = post_form(slack.authorize_url, form)
    assert status == 302
    location = urlsplit(headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["st4te"]
    answer = exchange(slack, query["code"][0])
    assert answer["team"]["id"] == "T0OTHER"
    assert set(answer["scope"].split(",")) == {"chat:write", "channels:read"}


def test_cancel_redirects_with_access_denied(slack: SlackStandIn) -> None:
    status, headers, _ = post_form(slack.authorize_url, {**authorize_query(), "decision": "cancel"})
    assert status == 302
    query = parse_qs(urlsplit(headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["st4te"]}


# -- views and response_url ----------------------------------------------------------------------------
MODAL = {
    "type": "modal",
    "callback_id": "feedback_comment",
    "title": {"type": "plain_text", "text": "Feedback"},
    "submit": {"type": "plain_text", "text": "Send"},
    "private_metadata": "inv_1",
    "blocks": [
        {
            "type": "input",
            "block_id": "comment",
            "label": {"type": "plain_text", "text": "Comment"},
            "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
        }
    ],
}


def test_views_open_uses_a_trigger_once(slack: SlackStandIn) -> None:
    web = bot(slack)
    trigger = slack.issue_trigger()
    opened = web.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "feedback_comment"
    assert api_error(lambda: web.views_open(trigger_id=trigger, view=MODAL)).response["error"] == (
        "exchanged_trigger_id"
    )
    assert api_error(lambda: web.views_open(trigger_id="1.2.3", view=MODAL)).response["error"] == ("invalid_trigger_id")
    assert [v.id for v in slack.views] == [opened["id"]]


def test_expired_trigger(slack: SlackStandIn) -> None:
    slack.trigger_lifetime = 0
    trigger = slack.issue_trigger()
    failure = api_error(lambda: bot(slack).views_open(trigger_id=trigger, view=MODAL))
    assert failure.response["error"] == "expired_trigger_id"


def post_json(url: str, payload: dict) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_response_url_replaces_the_message_five_times_at_most(slack: SlackStandIn) -> None:
    ts = bot(slack).chat_postMessage(channel="C0ALERTS", text="original")["ts"]
    url = slack.response_url_for("C0ALERTS", ts)
    for i in range(5):
        assert post_json(url, {"replace_original": True, "text": f"rated {i}"}) == (200, "ok")
    assert slack.message("C0ALERTS", ts).text == "rated 4"  # type: ignore[union-attr]
    assert post_json(url, {"replace_original": True, "text": "sixth"}) == (404, "used_url")
    assert slack.message("C0ALERTS", ts).text == "rated 4"  # type: ignore[union-attr]


# -- interactivity -------------------------------------------------------------------------------------
SIGNING_SECRET = "local-signing-secret"

FEEDBACK_BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "KubePodCrashLooping"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Root cause* &lt;memory&gt; limit"},
        "fields": [{"type": "mrkdwn", "text": "*Cluster*\nprod"}, {"type": "mrkdwn", "text": "*Severity*\ncritical"}],
    },
    {"type": "section", "text": {"type": "mrkdwn", "text": "```kubectl rollout undo deployment/api```"}},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "investigation inv_1"}]},
    {
        "type": "actions",
        "block_id": "feedback",
        "elements": [
            _button(action_id="rate_accurate", value="inv_1:accurate", text={"type": "plain_text", "text": "Accurate"}),
            _button(
                action_id="rate_partial",
                value="inv_1:partial",
                text={"type": "plain_text", "text": "Partially Accurate"},
            ),
        ],
    },
]


class Receiver:
    """A stand-in for the app's interactivity endpoint: records what arrives, answers via `respond`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.respond: Any = lambda payload: (200, "")
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status, answer = receiver.respond(receiver.payload(-1))
                data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/slack/interactions"

    def payload(self, index: int) -> dict[str, Any]:
        return json.loads(parse_qs(self.requests[index][1].decode())["payload"][0])


@pytest.fixture
def receiver(slack: SlackStandIn) -> Iterator[Receiver]:
    app = Receiver()
    app.thread.start()
    slack.interactivity_url = app.url
    yield app
    app.server.shutdown()
    app.server.server_close()


def post_feedback_message(slack: SlackStandIn) -> str:
    return bot(slack).chat_postMessage(channel="C0ALERTS", text="KubePodCrashLooping", blocks=FEEDBACK_BLOCKS)["ts"]


def test_click_sends_a_signed_block_actions_payload(slack: SlackStandIn, receiver: Receiver) -> None:
    ts = post_feedback_message(slack)
    result = slack.click("C0ALERTS", ts, "rate_partial", user_id="U0BOB")
    assert result.status == 200

    headers, body = receiver.requests[0]
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not SignatureVerifier("another-secret").is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"

    payload = receiver.payload(0)
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": "U0BOB", "username": "bob", "name": "bob", "team_id": "T0LOCAL"}
    assert payload["team"]["id"] == "T0LOCAL"
    assert payload["channel"] == {"id": "C0ALERTS", "name": "alerts"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": "C0ALERTS",
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == ts and payload["message"]["blocks"] == FEEDBACK_BLOCKS
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "rate_partial",
        "feedback",
        "inv_1:partial",
        "button",
    )

    # The response_url and trigger_id in the payload work like Slack's.
    assert post_json(payload["response_url"], {"replace_original": True, "text": "Rated by bob"}) == (200, "ok")
    assert slack.message("C0ALERTS", ts).text == "Rated by bob"  # type: ignore[union-attr]
    assert bot(slack).views_open(trigger_id=payload["trigger_id"], view=MODAL)["ok"] is True


MENU_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "an alert"}},
    {"type": "actions", "block_id": "portal", "elements": [{
        "type": "overflow", "action_id": "menu",
        "options": [{"text": {"type": "plain_text", "text": "Re-investigate"}, "value": "reinvestigate"},
                    {"text": {"type": "plain_text", "text": "Mute"}, "value": "mute"}]}]},
]


def test_picking_an_overflow_option_sends_it_as_selected_option(slack: SlackStandIn, receiver: Receiver) -> None:
    ts = bot(slack).chat_postMessage(channel="C0ALERTS", text="an alert", blocks=MENU_BLOCKS)["ts"]

    assert slack.click("C0ALERTS", ts, "menu", user_id="U0BOB", option="mute").status == 200

    [action] = receiver.payload(0)["actions"]
    assert (action["type"], action["block_id"], action["selected_option"]["value"]) == ("overflow", "portal", "mute")
    assert action["selected_option"]["text"]["text"] == "Mute" and "value" not in action
    with pytest.raises(LookupError):
        slack.click("C0ALERTS", ts, "menu", option="no_such_option")
    # In the browser, each option is its own small button.
    _, html = get(slack.base_url + "channels/C0ALERTS")
    assert "⋯ Re-investigate" in html and "name='option' value='reinvestigate'" in html


def test_a_click_slack_retries_arrives_again_with_the_retry_number(slack: SlackStandIn, receiver: Receiver) -> None:
    ts = post_feedback_message(slack)

    slack.click("C0ALERTS", ts, "rate_partial", retries=2)

    assert [headers.get("X-Slack-Retry-Num") for headers, _ in receiver.requests] == [None, "1", "2"]
    assert len({body for _, body in receiver.requests}) == 1  # the same payload, as Slack retries


def test_click_on_unknown_action_is_refused_before_sending(slack: SlackStandIn, receiver: Receiver) -> None:
    ts = post_feedback_message(slack)
    with pytest.raises(LookupError):
        slack.click("C0ALERTS", ts, "no_such_button")
    assert receiver.requests == []


def test_modal_opened_from_a_click_is_submitted_with_state_values(slack: SlackStandIn, receiver: Receiver) -> None:
    token = slack.issue_token()

    def open_modal(payload: dict[str, Any]) -> tuple[int, Any]:
        if payload["type"] == "block_actions":
            client(slack, token).views_open(trigger_id=payload["trigger_id"], view=MODAL)
            return 200, ""
        if not payload["view"]["state"]["values"]["comment"]["text"]["value"]:
            return 200, {"response_action": "errors", "errors": {"comment": "Please say what was wrong"}}
        return 200, ""

    receiver.respond = open_modal
    ts = post_feedback_message(slack)
    opened = slack.click("C0ALERTS", ts, "rate_partial")
    assert opened.opened_view_id is not None

    rejected = slack.submit_view(opened.opened_view_id, {"comment": {"text": ""}})
    assert rejected.json()["response_action"] == "errors"
    [still_open] = slack.open_views("U0ALICE")
    assert still_open.errors == {"comment": "Please say what was wrong"}

    accepted = slack.submit_view(opened.opened_view_id, {"comment": {"text": "wrong namespace"}})
    assert accepted.status == 200
    submission = receiver.payload(-1)
    headers, body = receiver.requests[-1]
    assert SignatureVerifier(SIGNING_SECRET).is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert submission["type"] == "view_submission"
    assert submission["user"]["id"] == "U0ALICE"
    assert submission["view"]["callback_id"] == "feedback_comment"
    assert submission["view"]["private_metadata"] == "inv_1"
    assert submission["view"]["state"]["values"] == {
        "comment": {"text": {"type": "plain_text_input", "value": "wrong namespace"}}
    }
    assert slack.open_views() == []


# -- browser UI ----------------------------------------------------------------------------------------
def test_index_lists_the_workspace_channels(slack: SlackStandIn) -> None:
    status, html = get(slack.base_url)
    assert status == 200
    for name in ("general", "alerts", "incidents", "ops-private", "secret", "old-alerts"):
        assert name in html


def test_channel_page_renders_block_kit_readably(slack: SlackStandIn) -> None:
    post_feedback_message(slack)
    bot(slack).chat_postMessage(channel="C0ALERTS", text="<!channel> unescaped ping")
    status, html = get(slack.base_url + "channels/C0ALERTS")
    assert status == 200
    assert "<h3>KubePodCrashLooping</h3>" in html
    assert "<b>Root cause</b> &lt;memory&gt; limit" in html
    assert "<pre>kubectl rollout undo deployment/api</pre>" in html
    assert "<b>Cluster</b><br>prod" in html
    assert "investigation inv_1" in html
    assert "Partially Accurate" in html
    assert "<span class='mention'>@channel</span>" in html
    # Without an interactivity URL the buttons cannot be pressed.
    assert "disabled" in html


def test_clicking_a_button_in_the_browser_reaches_the_app(slack: SlackStandIn, receiver: Receiver) -> None:
    ts = post_feedback_message(slack)
    _, html = get(slack.base_url + "channels/C0ALERTS")
    assert "action='/_ui/click'" in html
    form = {"channel": "C0ALERTS", "ts": ts, "action_id": "rate_accurate", "as": "U0ALICE"}
    status, headers, _ = post_form(slack.base_url + "_ui/click", form)
    assert status == 303 and headers["Location"].startswith("/channels/C0ALERTS?")
    assert receiver.payload(0)["actions"][0]["value"] == "inv_1:accurate"
    _, page = get(slack.base_url + headers["Location"].lstrip("/"))
    assert "Click delivered" in page


def test_modal_in_the_browser_submits_what_was_typed(slack: SlackStandIn, receiver: Receiver) -> None:
    token = slack.issue_token()

    def open_modal(payload: dict[str, Any]) -> tuple[int, Any]:
        if payload["type"] == "block_actions":
            client(slack, token).views_open(trigger_id=payload["trigger_id"], view=MODAL)
        return 200, ""

    receiver.respond = open_modal
    ts = post_feedback_message(slack)
    form = {"channel": "C0ALERTS", "ts": ts, "action_id": "rate_partial", "as": "U0ALICE"}
    _, headers, _ = post_form(slack.base_url + "_ui/click", form)
    assert headers["Location"].startswith("/views/")
    view_id = urlsplit(headers["Location"]).path.removeprefix("/views/")
    status, html = get(slack.base_url + headers["Location"].lstrip("/"))
    assert status == 200 and "Comment" in html and "<textarea name='comment::text'" in html

    status, headers, _ = post_form(
        slack.base_url + "_ui/submit", {"view_id": view_id, "as": "U0ALICE", "comment::text": "typed in a browser"}
    )
    assert status == 303 and headers["Location"].startswith("/channels/C0ALERTS?")
    values = receiver.payload(-1)["view"]["state"]["values"]
    assert values["comment"]["text"]["value"] == "typed in a browser"


def test_threads_keep_their_replies_and_broadcasts(slack: SlackStandIn) -> None:
    web = bot(slack)
    parent = web.chat_postMessage(channel="C0ALERTS", text="storm")["ts"]
    reply = web.chat_postMessage(channel="C0ALERTS", text="member", thread_ts=parent)["ts"]
    loud = web.chat_postMessage(channel="C0ALERTS", text="critical", thread_ts=parent, reply_broadcast=True)
    assert loud["message"]["subtype"] == "thread_broadcast"

    assert [m.ts for m in slack.replies("C0ALERTS", parent)] == [reply, loud["ts"]]
    assert [m.text for m in slack.top_level("C0ALERTS")] == ["storm", "critical"]
    assert api_error(lambda: web.chat_postMessage(channel="C0ALERTS", text="x", thread_ts="1.000")).response[
        "error"] == "thread_not_found"
    page = urllib.request.urlopen(f"{slack.base_url}channels/C0ALERTS").read().decode()
    assert "2 replies" in page and "member" in page
