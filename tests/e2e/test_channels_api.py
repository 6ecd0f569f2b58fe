"""GET /slack/channels: the portal's channel picker, against moto and the Slack stand-in."""

from __future__ import annotations

import pytest

from sre_slack.slack import directory as channel_directory
from sre_slack.storage.installations import InstallationStatus, get_installation
from tests.support import call_http, run_install

SEEDED_VISIBLE = ["alerts", "general", "incidents", "ops-private"]


@pytest.fixture(autouse=True)
def _fresh_channel_cache():
    channel_directory.clear_cache()
    yield
    channel_directory.clear_cache()


def _names(result) -> list[str]:
    return [c["name"] for c in result.json["channels"]]


def test_picker_lists_public_channels_and_private_ones_the_bot_is_in_sorted_by_name(functions, slack):
    run_install(functions, slack)
    result = call_http(functions, "GET", "/slack/channels")

    assert result.status == 200, result.body
    assert _names(result) == SEEDED_VISIBLE  # no archived #old-alerts, no private #secret the bot is not in
    by_id = {c["id"]: c for c in result.json["channels"]}
    assert by_id["G0OPS"] == {"id": "G0OPS", "name": "ops-private", "is_private": True, "is_member": True}
    assert by_id["C0GENERAL"] == {"id": "C0GENERAL", "name": "general", "is_private": False, "is_member": False}
    assert by_id["C0ALERTS"]["is_member"] is True
    calls = slack.calls_to("conversations.list")
    assert len(calls) == 1
    assert calls[0].params["types"] == "public_channel,private_channel"
    assert calls[0].params["exclude_archived"] in ("1", "true", True)
    assert str(calls[0].params["limit"]) == "1000"


def test_a_workspace_with_more_than_one_page_of_channels_is_listed_completely(functions, slack):
    bulk = slack.add_channels(1500)
    run_install(functions, slack)

    result = call_http(functions, "GET", "/slack/channels")

    assert result.status == 200, result.body
    ids = [c["id"] for c in result.json["channels"]]
    assert len(ids) == len(set(ids)) == 1500 + len(SEEDED_VISIBLE)
    assert set(bulk) <= set(ids)
    assert _names(result) == sorted(_names(result))
    assert "truncated" not in result.json
    calls = slack.calls_to("conversations.list")
    assert len(calls) == 2
    assert not calls[0].params.get("cursor") and calls[1].params.get("cursor")


def test_repeat_calls_are_served_from_the_cache_and_refresh_bypasses_it(functions, slack):
    run_install(functions, slack)
    first = call_http(functions, "GET", "/slack/channels")
    slack.add_channel("C0NEWONE", "new-one")
    second = call_http(functions, "GET", "/slack/channels")

    assert second.status == 200
    assert _names(second) == _names(first)
    assert len(slack.calls_to("conversations.list")) == 1

    refreshed = call_http(functions, "GET", "/slack/channels", query={"refresh": "true"})
    assert refreshed.status == 200
    assert "new-one" in _names(refreshed)
    assert len(slack.calls_to("conversations.list")) == 2


def test_slack_rate_limit_becomes_503_with_retry_after_and_is_not_retried_in_the_function(functions, slack):
    run_install(functions, slack)
    slack.fail_next("conversations.list", status=429, retry_after=17)

    limited = call_http(functions, "GET", "/slack/channels")

    assert limited.status == 503
    assert limited.json["error"] == "slack_rate_limited"
    assert limited.json["retry_after"] == 17
    assert {k.lower(): v for k, v in limited.headers.items()}["retry-after"] == "17"
    assert len(slack.calls_to("conversations.list")) == 1
    # Nothing was cached from the failure: the next call lists again and succeeds.
    again = call_http(functions, "GET", "/slack/channels")
    assert again.status == 200 and _names(again) == SEEDED_VISIBLE


def test_without_an_installation_the_answer_is_409_not_installed(functions, slack):
    result = call_http(functions, "GET", "/slack/channels")
    assert result.status == 409
    assert result.json["error"] == "not_installed"
    assert result.json["message"]
    assert slack.calls_to("conversations.list") == []


def test_another_tenants_installation_does_not_count(functions, slack):
    run_install(functions, slack, tenant="t_acme")
    result = call_http(functions, "GET", "/slack/channels", tenant="t_other")
    assert result.status == 409 and result.json["error"] == "not_installed"


def test_each_tenant_sees_the_channels_of_its_own_workspace(functions, slack):
    slack.add_team("T0BETA", "Beta Corp")
    run_install(functions, slack, tenant="t_acme")
    run_install(functions, slack, tenant="t_beta", team_id="T0BETA")

    acme = call_http(functions, "GET", "/slack/channels", tenant="t_acme")
    beta = call_http(functions, "GET", "/slack/channels", tenant="t_beta")

    assert _names(acme) == SEEDED_VISIBLE
    assert [c["id"] for c in beta.json["channels"]] == ["C0BETAGENERAL"]


def test_a_revoked_token_marks_the_installation_revoked_and_answers_409(functions, slack):
    run_install(functions, slack)
    for token in slack.tokens_for("T0LOCAL"):
        slack.revoke_token(token)

    result = call_http(functions, "GET", "/slack/channels")

    assert result.status == 409
    assert result.json == {"error": "not_installed", "reason": "token_revoked", "message": result.json["message"]}
    installation = get_installation("t_acme")
    assert installation.status == InstallationStatus.REVOKED
    assert installation.status_reason == "token_revoked"
    assert installation.token_ciphertext is None  # a dead secret is not kept
    status = call_http(functions, "GET", "/slack/installation").json
    assert status["installed"] is False and status["status"] == "revoked"
    # From now on Slack is not asked again with the dead token.
    assert call_http(functions, "GET", "/slack/channels").status == 409
    assert len(slack.calls_to("conversations.list")) == 1


def test_invalid_auth_marks_the_installation_inactive(functions, slack):
    run_install(functions, slack)
    slack.fail_next("conversations.list", error="invalid_auth")

    result = call_http(functions, "GET", "/slack/channels")

    assert result.status == 409 and result.json["reason"] == "invalid_auth"
    assert get_installation("t_acme").status == InstallationStatus.INACTIVE


def test_missing_scope_asks_for_a_reinstall_without_disabling_posting(functions, slack):
    run_install(functions, slack)
    slack.fail_next("conversations.list", error="missing_scope")

    result = call_http(functions, "GET", "/slack/channels")

    assert result.status == 409
    assert result.json["error"] == "missing_scope"
    assert "reinstall" in result.json["message"]
    assert get_installation("t_acme").is_active


def test_a_slack_error_is_a_503_not_a_crash(functions, slack):
    run_install(functions, slack)
    slack.fail_next("conversations.list", error="internal_error")

    result = call_http(functions, "GET", "/slack/channels")

    assert result.status == 503
    assert result.json["error"] == "slack_unavailable"
    assert get_installation("t_acme").is_active


def test_a_request_without_tenant_claim_is_refused(functions, slack):
    run_install(functions, slack)
    result = call_http(functions, "GET", "/slack/channels", claims={"sub": "someone"})
    assert result.status == 403 and result.json["error"] == "no_tenant"
