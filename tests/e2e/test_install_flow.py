"""The Slack install flow end to end: portal -> our start endpoint -> Slack authorize -> callback -> stored."""

from __future__ import annotations

import json
import logging
import threading
import time
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from sre_slack.contracts.settings import get_settings
from sre_slack.slack import tokens
from sre_slack.storage import keys
from sre_slack.storage.installations import get_installation
from sre_slack.storage.table import to_item
from tests.fixtures import PORTAL_URL
from tests.support import call_http, cookie_pair, run_install


def _raw_item(tenant: str) -> dict | None:
    table = get_settings().table_name
    return boto3.client("dynamodb").get_item(TableName=table, Key=to_item(keys.installation_key(tenant))).get("Item")


def _portal(query: dict[str, str]) -> str:
    return f"{PORTAL_URL}/integrations/slack?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_install_happy_path_stores_encrypted_installation(functions, slack):
    run = run_install(functions, slack, tenant="t_acme")

    assert run.callback.status == 302
    assert run.callback.location == _portal({"status": "installed"})
    # The state cookie is cleared once used.
    assert any(c.startswith("slack-app-oauth-state=deleted") for c in run.callback.cookies)

    installation = get_installation("t_acme")
    assert installation is not None
    assert (installation.team_id, installation.team_name) == ("T0LOCAL", "Local Dev Workspace")
    assert installation.bot_user_id == "U0BOT" and installation.bot_id == "B0BOT"
    assert set(installation.scopes) == {"chat:write", "chat:write.public", "channels:read", "groups:read"}
    assert installation.is_active

    # At rest the token is KMS ciphertext; decrypted, it is a token Slack accepts for that team.
    raw = json.dumps(_raw_item("t_acme"))
    assert "xoxb-" not in raw
    token = tokens.decrypt_token("t_acme", installation.token_ciphertext)
    assert token in slack.tokens_for("T0LOCAL")


def test_authorize_url_goes_through_our_start_endpoint_and_binds_the_browser(functions, slack):
    run = run_install(functions, slack)
    assert urlsplit(run.authorize_url).path == "/slack/oauth/start"
    set_cookie = run.start.cookies[0]
    assert set_cookie.startswith(f"slack-app-oauth-state={run.state}")
    for attribute in ("HttpOnly", "Secure", "Path=/slack/oauth", "SameSite=Lax"):
        assert attribute.lower() in set_cookie.lower()
    slack_query = parse_qs(urlsplit(run.start.location).query)
    assert run.start.location.startswith(slack.authorize_url)
    assert slack_query["client_id"] == [slack.client_id]
    assert slack_query["redirect_uri"] == ["https://api.example.com/slack/oauth/callback"]
    assert slack_query["scope"] == ["chat:write,chat:write.public,channels:read,groups:read"]


def test_cancel_redirects_with_cancelled_and_stores_nothing(functions, slack):
    run = run_install(functions, slack, deny=True)
    assert run.callback.location == _portal({"status": "cancelled"})
    assert get_installation("t_acme") is None


def test_replayed_state_is_refused_and_keeps_the_first_installation(functions, slack):
    run = run_install(functions, slack)
    first = get_installation("t_acme")
    code = slack.issue_code("https://api.example.com/slack/oauth/callback")
    replay = call_http(functions, "GET", "/slack/oauth/callback", query={"code": code, "state": run.state},
                       cookies=[run.cookie])
    assert replay.location == _portal({"status": "error", "reason": "invalid_state"})
    assert get_installation("t_acme") == first


def test_callback_without_the_browser_cookie_is_refused_without_spending_the_state(functions, slack):
    answer = call_http(functions, "POST", "/slack/install")
    state = parse_qs(urlsplit(answer.json["authorize_url"]).query)["state"][0]
    start = call_http(functions, "GET", "/slack/oauth/start", query={"state": state})
    code = slack.issue_code("https://api.example.com/slack/oauth/callback")

    foreign = call_http(functions, "GET", "/slack/oauth/callback", query={"code": code, "state": state},
                        cookies=["slack-app-oauth-state=someone-elses"])
    assert foreign.location == _portal({"status": "error", "reason": "browser_mismatch"})
    assert get_installation("t_acme") is None

    # The admin's own browser can still finish.
    own = call_http(functions, "GET", "/slack/oauth/callback", query={"code": code, "state": state},
                    cookies=[cookie_pair(start.cookies[0])])
    assert own.location == _portal({"status": "installed"})


def test_start_link_opened_by_a_second_browser_is_refused(functions, slack):
    answer = call_http(functions, "POST", "/slack/install")
    state = parse_qs(urlsplit(answer.json["authorize_url"]).query)["state"][0]
    assert call_http(functions, "GET", "/slack/oauth/start", query={"state": state}).status == 302
    second = call_http(functions, "GET", "/slack/oauth/start", query={"state": state})
    assert second.location == _portal({"status": "error", "reason": "state_already_used"})
    assert not second.cookies


def test_expired_state_is_refused(functions, slack):
    answer = call_http(functions, "POST", "/slack/install")
    state = parse_qs(urlsplit(answer.json["authorize_url"]).query)["state"][0]
    boto3.client("dynamodb").update_item(
        TableName=get_settings().table_name, Key=to_item(keys.oauth_state_key(state)),
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    start = call_http(functions, "GET", "/slack/oauth/start", query={"state": state})
    assert start.location == _portal({"status": "error", "reason": "expired_state"})


def test_unknown_state_and_missing_state(functions, slack):
    unknown = call_http(functions, "GET", "/slack/oauth/start", query={"state": "forged"})
    assert unknown.location == _portal({"status": "error", "reason": "invalid_state"})
    missing = call_http(functions, "GET", "/slack/oauth/callback", query={"code": "x"})
    assert missing.location == _portal({"status": "error", "reason": "missing_state"})
    no_query = call_http(functions, "GET", "/slack/oauth/start")
    assert no_query.status == 400 and no_query.json["error"] == "missing_state"


@pytest.mark.parametrize(("fault", "reason"), [
    ({"error": "invalid_code"}, "invalid_code"),
    ({"error": "bad_redirect_uri"}, "bad_redirect_uri"),
    ({"status": 500}, None),
    ({"close_connection": True}, "slack_unreachable"),
])
def test_failed_code_exchange_stores_nothing(functions, slack, fault, reason):
    slack.fail_next("oauth.v2.access", **fault)
    run = run_install(functions, slack)
    query = run.callback.location_query
    assert query["status"] == "error"
    if reason:
        assert query["reason"] == reason
    assert get_installation("t_acme") is None


def test_missing_code_is_an_error(functions, slack):
    answer = call_http(functions, "POST", "/slack/install")
    state = parse_qs(urlsplit(answer.json["authorize_url"]).query)["state"][0]
    start = call_http(functions, "GET", "/slack/oauth/start", query={"state": state})
    callback = call_http(functions, "GET", "/slack/oauth/callback", query={"state": state},
                         cookies=[cookie_pair(start.cookies[0])])
    assert callback.location == _portal({"status": "error", "reason": "missing_code"})
    assert get_installation("t_acme") is None


def test_auth_test_failure_stores_nothing(functions, slack):
    slack.fail_next("auth.test", error="invalid_auth")
    run = run_install(functions, slack)
    assert run.callback.location == _portal({"status": "error", "reason": "invalid_auth"})
    assert get_installation("t_acme") is None


def test_reinstall_replaces_the_tenants_record(functions, slack):
    slack.add_team("T0OTHER", "Other Workspace")
    run_install(functions, slack, tenant="t_acme", team_id="T0LOCAL")
    first = get_installation("t_acme")
    run_install(functions, slack, tenant="t_acme", team_id="T0OTHER")
    second = get_installation("t_acme")
    assert (first.team_id, second.team_id) == ("T0LOCAL", "T0OTHER")
    assert second.token_ciphertext != first.token_ciphertext


def test_two_tenants_installing_the_same_workspace_keep_separate_records(functions, slack):
    run_install(functions, slack, tenant="t_acme")
    acme = get_installation("t_acme")
    run_install(functions, slack, tenant="t_globex")
    assert get_installation("t_acme") == acme
    globex = get_installation("t_globex")
    assert globex.team_id == acme.team_id == "T0LOCAL"
    # A ciphertext is bound to its tenant by the encryption context.
    with pytest.raises(Exception, match="InvalidCiphertext"):
        tokens.decrypted_tokens.clear()
        tokens.decrypt_token("t_globex", acme.token_ciphertext)


def test_install_without_tenant_claim_is_forbidden(functions, slack):
    answer = call_http(functions, "POST", "/slack/install", claims={"sub": "someone"})
    assert answer.status == 403
    assert answer.json == {"error": "no_tenant", "message": "the access token carries no tenant_id claim"}


def test_no_token_or_secret_in_logs(functions, slack, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    slack.token_rotation = True
    run_install(functions, slack)
    installation = get_installation("t_acme")
    token = tokens.decrypt_token("t_acme", installation.token_ciphertext)
    slack.fail_next("oauth.v2.access", error="invalid_code")
    run_install(functions, slack, tenant="t_other")
    output = capsys.readouterr()
    logged = output.out + output.err + caplog.text
    assert "install finished" in logged  # the logs were captured at all
    for secret in (token, slack.client_secret, slack.signing_secret, "xoxb-", "xoxe-"):
        assert secret not in logged


def test_rotating_token_is_refreshed_before_expiry(functions, slack):
    slack.token_rotation = True
    slack.expires_in = 3600  # inside the two-hour refresh window
    run_install(functions, slack)
    before = get_installation("t_acme")
    old_token = tokens.decrypt_token("t_acme", before.token_ciphertext)

    token = tokens.bot_token(before)

    after = get_installation("t_acme")
    assert token != old_token
    assert tokens.decrypt_token("t_acme", after.token_ciphertext) == token
    assert after.token_version == before.token_version + 1
    assert after.token_expires_at > before.token_expires_at - 5


def test_concurrent_rotations_settle_on_one_stored_token(functions, slack):
    slack.token_rotation = True
    slack.expires_in = 60
    run_install(functions, slack)
    before = get_installation("t_acme")
    results: list[str] = []
    errors: list[BaseException] = []

    def rotate() -> None:
        try:
            results.append(tokens.bot_token(before))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=rotate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stored = tokens.decrypt_token("t_acme", get_installation("t_acme").token_ciphertext)
    valid = set(slack.tokens_for("T0LOCAL"))
    assert stored in valid
    assert all(token in valid for token in results)
    assert get_installation("t_acme").token_version == before.token_version + 1


def _empty_the_credentials_secret(aws) -> None:
    """The state right after the first deploy, before the operator filled the secret (README: Deploying)."""
    from sre_slack import container

    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.ref("SlackCredentials"),
        SecretString=json.dumps({"client_id": "", "client_secret": "", "signing_secret": ""}))
    container.reset()  # drops the cached secret, as the 5-minute cache would


def test_unconfigured_app_sends_the_admin_back_with_a_reason_and_keeps_the_link(aws, functions, slack):
    answer = call_http(functions, "POST", "/slack/install")
    state = parse_qs(urlsplit(answer.json["authorize_url"]).query)["state"][0]
    _empty_the_credentials_secret(aws)

    start = call_http(functions, "GET", "/slack/oauth/start", query={"state": state})

    assert start.status == 302
    assert start.location == _portal({"status": "error", "reason": "app_not_configured"})
    assert not start.cookies
    # The link was not spent: once the operator fills the secret, the same link works.
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.ref("SlackCredentials"),
        SecretString=json.dumps({"client_id": slack.client_id, "client_secret": slack.client_secret,
                                 "signing_secret": slack.signing_secret}))
    from sre_slack import container

    container.reset()
    reopened = call_http(functions, "GET", "/slack/oauth/start", query={"state": state})
    assert reopened.location.startswith(slack.authorize_url)
    assert reopened.cookies


def test_secret_emptied_before_the_callback_stores_nothing(aws, functions, slack):
    answer = call_http(functions, "POST", "/slack/install")
    state = parse_qs(urlsplit(answer.json["authorize_url"]).query)["state"][0]
    start = call_http(functions, "GET", "/slack/oauth/start", query={"state": state})
    code = slack.issue_code("https://api.example.com/slack/oauth/callback")
    _empty_the_credentials_secret(aws)

    callback = call_http(functions, "GET", "/slack/oauth/callback", query={"code": code, "state": state},
                         cookies=[cookie_pair(start.cookies[0])])

    assert callback.status == 302
    assert callback.location == _portal({"status": "error", "reason": "app_not_configured"})
    assert get_installation("t_acme") is None
