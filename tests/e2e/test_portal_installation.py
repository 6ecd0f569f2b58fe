"""GET and DELETE /slack/installation: what the portal shows about the connection, and disconnecting."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sre_slack.slack import directory as channel_directory
from sre_slack.slack import tokens
from sre_slack.storage.installations import InstallationStatus, get_installation, mark_installation
from sre_slack.storage.tenant_config import load_tenant_config, record_channel_health
from tests.support import call_http, run_install

ROUTING = {"default_channels": ["C0ALERTS"], "digest_channels": [], "routes": []}


@pytest.fixture(autouse=True)
def _fresh_channel_cache():
    channel_directory.clear_cache()
    yield
    channel_directory.clear_cache()


def status(functions, tenant: str = "t_acme"):
    result = call_http(functions, "GET", "/slack/installation", tenant=tenant)
    assert result.status == 200, result.body
    return result.json


def bot_token_of(tenant: str) -> str:
    installation = get_installation(tenant)
    return tokens.decrypt_token(tenant, installation.token_ciphertext)


def test_without_an_installation_the_portal_sees_not_installed(functions, slack):
    body = status(functions)
    assert body["installed"] is False
    assert body["status"] == "not_installed"
    assert "team" not in body


def test_an_active_installation_shows_team_scopes_date_and_health(functions, slack):
    run_install(functions, slack)
    installation = get_installation("t_acme")

    result = call_http(functions, "GET", "/slack/installation")
    body = result.json

    assert body["installed"] is True
    assert body["status"] == "active"
    assert body["team"] == {"id": "T0LOCAL", "name": "Local Dev Workspace"}
    assert set(body["scopes"]) == {"chat:write", "chat:write.public", "channels:read", "groups:read"}
    assert datetime.fromisoformat(body["installed_at"]).timestamp() == installation.installed_at
    assert body["health"] == {"status": "ok", "channels": []}
    # No token, encrypted or not, leaves the API.
    assert "xox" not in result.body
    assert installation.token_ciphertext not in result.body
    assert not any("token" in key for key in body)


def test_channel_delivery_problems_are_shown_to_the_admin(functions, slack):
    run_install(functions, slack)
    record_channel_health("t_acme", "C0ALERTS", status="failing", reason="is_archived", permanent=True)
    record_channel_health("t_acme", "C0INCIDENTS", status="ok", reason=None, permanent=False)
    stored = load_tenant_config("t_acme").channel_health["C0ALERTS"]

    health = status(functions)["health"]

    assert health["status"] == "degraded"
    assert [c["channel"] for c in health["channels"]] == ["C0ALERTS", "C0INCIDENTS"]
    failing = health["channels"][0]
    assert (failing["status"], failing["reason"], failing["permanent"]) == ("failing", "is_archived", True)
    assert datetime.fromisoformat(failing["updated_at"]).timestamp() == stored.updated_at


def test_a_revoked_installation_is_not_installed_and_says_why(functions, slack):
    run_install(functions, slack)
    mark_installation("t_acme", InstallationStatus.REVOKED, "app_uninstalled", drop_tokens=True)

    body = status(functions)

    assert body["installed"] is False
    assert body["status"] == "revoked"
    assert body["status_reason"] == "app_uninstalled"
    assert datetime.fromisoformat(body["status_changed_at"])
    assert "team" not in body
    assert body["health"]["status"] == "disconnected"


def test_installations_are_per_tenant(functions, slack):
    run_install(functions, slack, tenant="t_acme")
    assert status(functions, "t_acme")["installed"] is True
    assert status(functions, "t_other")["installed"] is False


def test_delete_revokes_the_token_at_slack_and_removes_the_tenants_slack_data(functions, slack):
    run_install(functions, slack)
    assert call_http(functions, "PUT", "/routing", body=json.dumps(ROUTING)).status == 200
    record_channel_health("t_acme", "C0ALERTS", status="failing", reason="ratelimited", permanent=False)
    token = bot_token_of("t_acme")

    result = call_http(functions, "DELETE", "/slack/installation")

    assert result.status == 204
    assert result.body == ""
    assert len(slack.calls_to("auth.revoke")) == 1
    assert token not in slack.tokens_for("T0LOCAL")
    with pytest.raises(SlackApiError) as refused:
        WebClient(token=token, base_url=slack.api_url).auth_test()
    assert refused.value.response["error"] == "token_revoked"
    config = load_tenant_config("t_acme")
    assert (config.installation, config.routing_raw, config.channel_health) == (None, None, {})
    # The portal sees the result everywhere.
    assert status(functions)["installed"] is False
    assert call_http(functions, "GET", "/routing").json == {"default_channels": [], "digest_channels": [],
                                                            "routes": []}
    assert call_http(functions, "GET", "/slack/channels").status == 409


def test_delete_without_an_installation_is_204_and_calls_nothing(functions, slack):
    result = call_http(functions, "DELETE", "/slack/installation")
    assert result.status == 204
    assert slack.calls_to("auth.revoke") == []


def test_delete_twice_is_harmless(functions, slack):
    run_install(functions, slack)
    assert call_http(functions, "DELETE", "/slack/installation").status == 204
    assert call_http(functions, "DELETE", "/slack/installation").status == 204
    assert len(slack.calls_to("auth.revoke")) == 1


def test_delete_when_slack_already_revoked_the_token_still_removes_our_data(functions, slack):
    run_install(functions, slack)
    slack.revoke_token(bot_token_of("t_acme"))

    result = call_http(functions, "DELETE", "/slack/installation")

    assert result.status == 204
    assert get_installation("t_acme") is None


def test_delete_of_a_revoked_installation_removes_it_without_calling_slack(functions, slack):
    run_install(functions, slack)
    mark_installation("t_acme", InstallationStatus.REVOKED, "tokens_revoked", drop_tokens=True)

    assert call_http(functions, "DELETE", "/slack/installation").status == 204
    assert get_installation("t_acme") is None
    assert slack.calls_to("auth.revoke") == []


@pytest.mark.parametrize("fault", [{"status": 429, "retry_after": 60}, {"error": "internal_error"},
                                   {"close_connection": True, "times": 3}])
def test_delete_goes_ahead_when_slack_cannot_revoke(functions, slack, fault):
    """The admin asked to disconnect: our copy of the token and the configuration are deleted regardless."""
    run_install(functions, slack)
    token = bot_token_of("t_acme")
    slack.fail_next("auth.revoke", **fault)

    result = call_http(functions, "DELETE", "/slack/installation")

    assert result.status == 204
    assert slack.calls_to("auth.revoke")
    assert token in slack.tokens_for("T0LOCAL")  # Slack never got the revoke
    assert get_installation("t_acme") is None


def test_delete_keeps_the_token_that_another_tenant_of_the_same_workspace_relies_on(functions, slack):
    run_install(functions, slack, tenant="t_acme")
    run_install(functions, slack, tenant="t_sister")
    acme_token = bot_token_of("t_acme")

    assert call_http(functions, "DELETE", "/slack/installation", tenant="t_acme").status == 204

    assert slack.calls_to("auth.revoke") == []
    assert acme_token in slack.tokens_for("T0LOCAL")
    assert get_installation("t_acme") is None
    assert status(functions, "t_sister")["installed"] is True
    assert call_http(functions, "GET", "/slack/channels", tenant="t_sister").status == 200


def test_delete_touches_no_other_tenant(functions, slack):
    slack.add_team("T0BETA", "Beta Corp")
    run_install(functions, slack, tenant="t_acme")
    run_install(functions, slack, tenant="t_beta", team_id="T0BETA")
    beta_routing = {"default_channels": ["C0BETAGENERAL"], "digest_channels": [], "routes": []}
    assert call_http(functions, "PUT", "/routing", tenant="t_beta", body=json.dumps(beta_routing)).status == 200
    beta_token = bot_token_of("t_beta")

    assert call_http(functions, "DELETE", "/slack/installation", tenant="t_acme").status == 204

    assert beta_token in slack.tokens_for("T0BETA")
    assert status(functions, "t_beta")["installed"] is True
    assert call_http(functions, "GET", "/routing", tenant="t_beta").json == beta_routing


def test_reinstall_after_delete_starts_clean(functions, slack):
    run_install(functions, slack)
    assert call_http(functions, "PUT", "/routing", body=json.dumps(ROUTING)).status == 200
    assert call_http(functions, "DELETE", "/slack/installation").status == 204

    run_install(functions, slack)

    body = status(functions)
    assert body["installed"] is True and body["routing_configured"] is False
    assert call_http(functions, "GET", "/slack/channels").status == 200


def test_requests_without_tenant_claim_are_refused(functions, slack):
    run_install(functions, slack)
    for method in ("GET", "DELETE"):
        result = call_http(functions, method, "/slack/installation", claims={"sub": "someone"})
        assert result.status == 403
    assert get_installation("t_acme") is not None
