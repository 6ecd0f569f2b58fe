"""GET/PUT /routing: strict validation, channels checked against the workspace, one stored document per tenant."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from sre_slack.contracts.routing import RoutingDocument
from sre_slack.domain.routing import resolve_channels, resolve_digest_channels
from sre_slack.services.routing_config import check_channels
from sre_slack.slack import directory as channel_directory
from sre_slack.storage.tenant_config import load_tenant_config, record_channel_health
from tests.support import call_http, cookie_pair, run_install

EMPTY = {"default_channels": [], "digest_channels": [], "routes": []}
GOOD = {
    "default_channels": ["C0ALERTS"],
    "digest_channels": ["C0INCIDENTS"],
    "routes": [
        {"cluster": "production-us-east", "channels": ["G0OPS", "C0GENERAL"], "severities": ["critical", "warning"]},
        {"workspace": "platform-team", "channels": ["C0INCIDENTS"]},
    ],
}


@pytest.fixture(autouse=True)
def _fresh_channel_cache():
    channel_directory.clear_cache()
    yield
    channel_directory.clear_cache()


def put(functions, doc, *, tenant: str = "t_acme"):
    return call_http(functions, "PUT", "/routing", tenant=tenant, body=doc if isinstance(doc, str) else json.dumps(doc))


def get(functions, *, tenant: str = "t_acme"):
    return call_http(functions, "GET", "/routing", tenant=tenant)


def install_with_scopes(functions, slack, scopes: list[str], *, tenant: str = "t_acme") -> None:
    """The real install flow, with the admin's workspace granting only `scopes`."""
    answer = call_http(functions, "POST", "/slack/install", tenant=tenant)
    state = parse_qs(urlsplit(answer.json["authorize_url"]).query)["state"][0]
    start = call_http(functions, "GET", "/slack/oauth/start", query={"state": state})
    slack_query = {k: v[0] for k, v in parse_qs(urlsplit(start.location).query).items()}
    code = slack.issue_code(slack_query["redirect_uri"], scopes=scopes)
    callback = call_http(functions, "GET", "/slack/oauth/callback", query={"code": code, "state": slack_query["state"]},
                         cookies=[cookie_pair(start.cookies[0])])
    assert callback.location.endswith("status=installed"), callback.location


def test_get_without_a_document_answers_the_empty_document(functions, slack):
    result = get(functions)
    assert result.status == 200
    assert result.json == EMPTY
    assert "Last-Modified" not in result.headers


def test_put_stores_the_document_and_get_returns_it(functions, slack):
    run_install(functions, slack)

    stored = put(functions, GOOD)

    assert stored.status == 200, stored.body
    assert stored.json == GOOD
    assert "warnings" not in stored.json
    read = get(functions)
    assert read.json == GOOD
    assert parsedate_to_datetime(read.headers["Last-Modified"]).timestamp() == load_tenant_config(
        "t_acme").routing_updated_at
    # What posting reads back (one Query) routes as the contract says.
    routing = load_tenant_config("t_acme").routing
    decision = resolve_channels(routing, cluster="production-us-east", workspace="platform-team", severity="critical")
    assert decision.channels == ("G0OPS", "C0GENERAL")
    assert resolve_channels(routing, cluster="staging", workspace="platform-team", severity="info").channels == (
        "C0INCIDENTS",)
    assert resolve_digest_channels(routing) == ("C0INCIDENTS",)


def test_put_answers_the_normalised_document_it_stored(functions, slack):
    run_install(functions, slack)
    result = put(functions, {"default_channels": ["C0ALERTS", "C0ALERTS"],
                             "routes": [{"workspace": "w", "channels": ["C0GENERAL"], "severities": None}]})
    assert result.status == 200, result.body
    assert result.json == {"default_channels": ["C0ALERTS"], "digest_channels": [],
                           "routes": [{"workspace": "w", "channels": ["C0GENERAL"]}]}
    assert get(functions).json == result.json


def test_a_later_put_replaces_the_whole_document(functions, slack):
    run_install(functions, slack)
    assert put(functions, GOOD).status == 200
    replacement = {"default_channels": ["C0GENERAL"]}
    assert put(functions, replacement).status == 200
    assert get(functions).json == {**EMPTY, **replacement}


def test_a_body_sent_as_curl_sends_it_is_accepted(functions, slack):
    """curl -d without a JSON content type: API Gateway hands the body over base64-encoded."""
    run_install(functions, slack)
    result = call_http(functions, "PUT", "/routing", body=json.dumps(GOOD).encode(), is_base64=True,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert result.status == 200, result.body
    assert get(functions).json == GOOD


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**GOOD, "escalation": ["C0ALERTS"]}, "escalation", "unknown field"),
        ({"routes": [{"cluster": "a", "channels": ["C0ALERTS"], "priority": 1}]}, "routes.0.priority",
         "unknown field"),
        ({"default_channels": [""]}, "default_channels.0", "empty"),
        ({"default_channels": ["#alerts"]}, "default_channels.0", "channel id"),
        ({"default_channels": ["alerts"]}, "default_channels.0", "not a Slack channel id"),
        ({"default_channels": [42]}, "default_channels.0", "string"),
        ({"routes": [{"channels": ["C0ALERTS"]}]}, "routes.0", "either `cluster` or `workspace`"),
        ({"routes": [{"cluster": "a", "channels": ["C0ALERTS"], "severities": ["fatal"]}]},
         "routes.0.severities.0", "critical"),
        ({"routes": [{"cluster": "a", "channels": []}]}, "routes.0.channels", "at least one channel"),
        ({"digest_channels": "C0ALERTS"}, "digest_channels", "list"),
    ],
)
def test_an_invalid_document_is_refused_naming_the_field_and_the_previous_one_stays(functions, slack, body, field,
                                                                                    words):
    run_install(functions, slack)
    assert put(functions, GOOD).status == 200

    result = put(functions, body)

    assert result.status == 400
    assert result.json["error"] == "invalid_routing"
    assert field in [d["field"] for d in result.json["details"]]
    assert words in result.json["message"]
    assert get(functions).json == GOOD


@pytest.mark.parametrize(("body", "error"), [("", "invalid_body"), ("{not json", "invalid_routing"),
                                             ("[]", "invalid_routing"), ("null", "invalid_routing")])
def test_a_body_that_is_no_json_object_is_refused(functions, slack, body, error):
    run_install(functions, slack)
    assert put(functions, GOOD).status == 200
    result = put(functions, body)
    assert result.status == 400
    assert result.json["error"] == error
    assert result.json["message"]
    assert get(functions).json == GOOD


def test_a_channel_the_workspace_does_not_have_is_refused_and_nothing_is_stored(functions, slack):
    run_install(functions, slack)
    assert put(functions, GOOD).status == 200

    result = put(functions, {"default_channels": ["C0ALERTS"],
                             "routes": [{"cluster": "a", "channels": ["C0ALERTS", "C0NOSUCH"]}]})

    assert result.status == 400
    assert result.json["error"] == "invalid_channel"
    assert result.json["details"] == [{"field": "routes.0.channels.1", "channel": "C0NOSUCH", "reason": "not_found",
                                       "message": result.json["details"][0]["message"]}]
    assert "routes.0.channels.1" in result.json["message"] and "C0NOSUCH" in result.json["message"]
    assert get(functions).json == GOOD


def test_a_channel_named_in_several_places_is_reported_for_each_field(functions, slack):
    run_install(functions, slack)
    result = put(functions, {"default_channels": ["C0NOSUCH"], "digest_channels": ["C0NOSUCH"]})
    assert result.status == 400
    assert [d["field"] for d in result.json["details"]] == ["default_channels.0", "digest_channels.0"]


def test_an_archived_channel_is_refused(functions, slack):
    run_install(functions, slack)
    result = put(functions, {"digest_channels": ["C0OLD"]})
    assert result.status == 400
    assert result.json["details"][0]["field"] == "digest_channels.0"
    assert result.json["details"][0]["reason"] == "archived"
    assert "archived" in result.json["message"]
    assert get(functions).json == EMPTY


def test_a_private_channel_the_bot_was_not_invited_to_is_refused_until_it_is(functions, slack):
    """The bot's token cannot see such a channel at all; the answer says to invite the bot."""
    run_install(functions, slack)
    assert call_http(functions, "GET", "/slack/channels").status == 200  # the picker warmed the cache

    refused = put(functions, {"default_channels": ["G0SECRET"]})
    assert refused.status == 400
    assert refused.json["details"][0]["reason"] == "not_found"
    assert "invite the bot" in refused.json["message"]

    slack.set_bot_member("G0SECRET")
    accepted = put(functions, {"default_channels": ["G0SECRET"]})
    assert accepted.status == 200, accepted.body
    assert accepted.json["default_channels"] == ["G0SECRET"]
    assert "warnings" not in accepted.json


def test_a_channel_created_after_the_cached_listing_is_found_with_one_fresh_listing(functions, slack):
    run_install(functions, slack)
    assert call_http(functions, "GET", "/slack/channels").status == 200
    slack.add_channel("C0BRANDNEW", "brand-new")

    result = put(functions, {"default_channels": ["C0BRANDNEW", "C0ALERTS"]})

    assert result.status == 200, result.body
    assert len(slack.calls_to("conversations.list")) == 2


def test_known_channels_are_checked_from_the_cached_listing(functions, slack):
    run_install(functions, slack)
    assert call_http(functions, "GET", "/slack/channels").status == 200
    assert put(functions, GOOD).status == 200
    assert len(slack.calls_to("conversations.list")) == 1


def test_a_channel_the_bot_cannot_post_to_until_invited_is_stored_with_a_warning(functions, slack):
    # Without chat:write.public the bot can post only where it is a member.
    install_with_scopes(functions, slack, ["chat:write", "channels:read", "groups:read"])

    result = put(functions, {"default_channels": ["C0ALERTS"], "routes": [{"cluster": "a", "channels": ["C0GENERAL"]}]})

    assert result.status == 200, result.body
    assert result.json["warnings"] == [{"channel": "C0GENERAL", "fields": ["routes.0.channels.0"],
                                        "message": result.json["warnings"][0]["message"]}]
    assert "invite the bot" in result.json["warnings"][0]["message"]
    assert "#general" in result.json["warnings"][0]["message"]
    # Stored all the same; GET answers the bare document.
    assert get(functions).json == {**EMPTY, "default_channels": ["C0ALERTS"],
                                   "routes": [{"cluster": "a", "channels": ["C0GENERAL"]}]}


def test_put_without_an_installation_is_409_and_stores_nothing(functions, slack):
    result = put(functions, GOOD)
    assert result.status == 409
    assert result.json["error"] == "not_installed"
    assert get(functions).json == EMPTY


def test_slack_rate_limit_during_the_check_is_503_and_stores_nothing(functions, slack):
    run_install(functions, slack)
    slack.fail_next("conversations.list", status=429, retry_after=30)

    result = put(functions, GOOD)

    assert result.status == 503
    assert result.json["error"] == "slack_rate_limited"
    assert result.headers["Retry-After"] == "30"
    assert get(functions).json == EMPTY


def test_tenants_never_see_or_use_each_others_routing(functions, slack):
    slack.add_team("T0BETA", "Beta Corp")
    run_install(functions, slack, tenant="t_acme")
    run_install(functions, slack, tenant="t_beta", team_id="T0BETA")
    assert put(functions, GOOD, tenant="t_acme").status == 200

    assert get(functions, tenant="t_beta").json == EMPTY
    # Acme's channels are not in Beta's workspace.
    refused = put(functions, {"default_channels": ["C0ALERTS"]}, tenant="t_beta")
    assert refused.status == 400 and refused.json["details"][0]["reason"] == "not_found"
    assert put(functions, {"default_channels": ["C0BETAGENERAL"]}, tenant="t_beta").status == 200

    assert get(functions, tenant="t_acme").json == GOOD
    assert get(functions, tenant="t_beta").json["default_channels"] == ["C0BETAGENERAL"]


def test_a_put_clears_stale_channel_health(functions, slack):
    run_install(functions, slack)
    record_channel_health("t_acme", "C0ALERTS", status="failing", reason="not_in_channel", permanent=True)
    record_channel_health("t_acme", "C0INCIDENTS", status="failing", reason="ratelimited", permanent=False)
    record_channel_health("t_acme", "C0DROPPED", status="failing", reason="channel_not_found", permanent=True)

    assert put(functions, {"default_channels": ["C0ALERTS", "C0INCIDENTS"]}).status == 200

    health = load_tenant_config("t_acme").channel_health
    # Re-confirmed channel: posting may try it again. No longer routed: gone. A transient failure stays.
    assert set(health) == {"C0INCIDENTS"}
    assert health["C0INCIDENTS"].reason == "ratelimited"


def test_a_failed_put_leaves_channel_health_alone(functions, slack):
    run_install(functions, slack)
    record_channel_health("t_acme", "C0ALERTS", status="failing", reason="not_in_channel", permanent=True)
    assert put(functions, {"default_channels": ["C0ALERTS", "C0NOSUCH"]}).status == 400
    assert set(load_tenant_config("t_acme").channel_health) == {"C0ALERTS"}


def test_the_warning_rule_for_channels_the_bot_sees_but_is_not_in():
    """Pure decision: private channels need an invitation; public ones only without chat:write.public."""
    doc = RoutingDocument.model_validate({"default_channels": ["G0LISTED", "C0PUBLIC", "C0MEMBER"]})
    lookup = channel_directory.ChannelLookup(
        found={
            "G0LISTED": channel_directory.SlackChannel("G0LISTED", "listed", is_private=True, is_member=False),
            "C0PUBLIC": channel_directory.SlackChannel("C0PUBLIC", "public", is_private=False, is_member=False),
            "C0MEMBER": channel_directory.SlackChannel("C0MEMBER", "member", is_private=False, is_member=True),
        },
        archived={}, missing=frozenset())

    with_public = check_channels(doc, lookup, scopes=("chat:write", "chat:write.public"), team_name="T")
    without_public = check_channels(doc, lookup, scopes=("chat:write",), team_name="T")

    assert [w.channel for w in with_public] == ["G0LISTED"]
    assert [w.channel for w in without_public] == ["G0LISTED", "C0PUBLIC"]


def test_grouping_is_stored_and_answered(functions, slack):
    run_install(functions, slack)
    doc = {**GOOD, "grouping": {"window_minutes": 30},
           "routes": [GOOD["routes"][0] | {"grouping": False}, GOOD["routes"][1]]}

    stored = put(functions, doc)

    assert stored.status == 200, stored.body
    assert stored.json["grouping"] == {"window_minutes": 30}
    assert stored.json["routes"][0]["grouping"] is False
    assert get(functions).json == stored.json
    decision = resolve_channels(load_tenant_config("t_acme").routing, cluster="production-us-east",
                                workspace=None, severity="critical")
    assert decision.grouping_window("G0OPS") is None
    assert put(functions, {**GOOD, "grouping": False}).json["grouping"] is False
    # The channel picker says how the stored routing groups alerts.
    picker = call_http(functions, "GET", "/slack/channels", tenant="t_acme")
    assert picker.json["grouping"] == {"enabled": False, "window_minutes": None}


@pytest.mark.parametrize("grouping", [{"window_minutes": 0}, {"window_minutes": 241}, {"window_minutes": "10"},
                                      True, {"minutes": 5}])
def test_bad_grouping_is_refused_and_nothing_stored(functions, slack, grouping):
    run_install(functions, slack)
    result = put(functions, {**GOOD, "grouping": grouping})
    assert result.status == 400
    assert result.json["error"] == "invalid_routing"
    assert any(d["field"].startswith("grouping") for d in result.json["details"])
    assert get(functions).json == EMPTY
