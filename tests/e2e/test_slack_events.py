"""Slack Events API: url_verification, uninstall / token revocation in any order and repeated, channel events."""

from __future__ import annotations

import json

import pytest

from sre_slack.storage.installations import get_installation
from sre_slack.storage.tenant_config import load_tenant_config, put_routing
from tests.support import call_http, run_install, signed_headers


def send_event(functions, slack, body: dict, *, retry_num: int | None = None):
    raw = json.dumps(body)
    headers = signed_headers(raw, slack.signing_secret, content_type="application/json")
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
    return call_http(functions, "POST", "/slack/events", body=raw, headers=headers)


def callback(team_id: str, event: dict) -> dict:
    return {"type": "event_callback", "team_id": team_id, "api_app_id": "A0LOCAL", "event_id": "Ev01",
            "event": event}


UNINSTALLED = {"type": "app_uninstalled"}
REVOKED = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0BOT"]}}


def test_url_verification_echoes_the_challenge(functions, slack):
    answer = send_event(functions, slack, {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9C"})
    assert answer.status == 200
    assert answer.json == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9C"}


def test_url_verification_needs_a_signature(functions, slack):
    body = json.dumps({"type": "url_verification", "challenge": "abc"})
    answer = call_http(functions, "POST", "/slack/events", body=body, headers={"Content-Type": "application/json"})
    assert answer.status == 401
    assert "abc" not in answer.body


@pytest.mark.parametrize("order", [(UNINSTALLED, REVOKED), (REVOKED, UNINSTALLED),
                                   (UNINSTALLED, UNINSTALLED, REVOKED, REVOKED)])
def test_uninstall_and_revocation_in_any_order_revoke_and_drop_the_token(functions, slack, order):
    run_install(functions, slack, tenant="t_acme", team_id="T0LOCAL")
    for retry, event in enumerate(order):
        answer = send_event(functions, slack, callback("T0LOCAL", event), retry_num=retry or None)
        assert answer.status == 200

    installation = get_installation("t_acme")
    assert installation.status == "revoked"
    assert installation.status_reason == order[-1]["type"]
    assert installation.token_ciphertext is None and installation.refresh_token_ciphertext is None
    assert not installation.is_active
    status = call_http(functions, "GET", "/slack/installation", tenant="t_acme")
    assert status.status == 200 and status.json["installed"] is False


def test_every_tenant_of_the_team_is_revoked_and_other_teams_are_not(functions, slack):
    slack.add_team("T0OTHER", "Other Co")
    run_install(functions, slack, tenant="t_acme", team_id="T0LOCAL")
    run_install(functions, slack, tenant="t_acme_eu", team_id="T0LOCAL")
    run_install(functions, slack, tenant="t_other", team_id="T0OTHER")

    assert send_event(functions, slack, callback("T0LOCAL", UNINSTALLED)).status == 200

    assert get_installation("t_acme").status == "revoked"
    assert get_installation("t_acme_eu").status == "revoked"
    assert get_installation("t_other").is_active


def test_events_from_an_unknown_team_are_ignored(functions, slack):
    run_install(functions, slack, tenant="t_acme", team_id="T0LOCAL")
    for event in (UNINSTALLED, REVOKED, {"type": "channel_archive", "channel": "C0X", "user": "U1"}):
        assert send_event(functions, slack, callback("T0NOBODY", event)).status == 200
    assert get_installation("t_acme").is_active


def test_revocation_of_user_tokens_only_keeps_the_bot(functions, slack):
    run_install(functions, slack, tenant="t_acme", team_id="T0LOCAL")
    event = {"type": "tokens_revoked", "tokens": {"oauth": ["U0ALICE"], "bot": []}}
    assert send_event(functions, slack, callback("T0LOCAL", event)).status == 200
    assert get_installation("t_acme").is_active


@pytest.mark.parametrize(("event_type", "reason"), [("channel_archive", "is_archived"),
                                                    ("channel_deleted", "channel_not_found"),
                                                    ("group_archive", "is_archived"),
                                                    ("group_deleted", "channel_not_found")])
def test_routed_channel_going_away_is_recorded_in_delivery_health(functions, slack, event_type, reason):
    run_install(functions, slack, tenant="t_acme", team_id="T0LOCAL")
    put_routing("t_acme", {"default_channels": ["C0DEFAULT"], "digest_channels": [],
                           "routes": [{"cluster": "prod", "channels": ["C0PROD"]}]})

    assert send_event(functions, slack, callback("T0LOCAL", {"type": event_type, "channel": "C0PROD"})).status == 200
    assert send_event(functions, slack, callback("T0LOCAL", {"type": event_type, "channel": "C0UNROUTED"})).status \
        == 200

    health = load_tenant_config("t_acme").channel_health
    assert set(health) == {"C0PROD"}
    assert (health["C0PROD"].status, health["C0PROD"].reason, health["C0PROD"].permanent) == ("failing", reason, True)


def test_unarchived_channel_is_healthy_again(functions, slack):
    run_install(functions, slack, tenant="t_acme", team_id="T0LOCAL")
    put_routing("t_acme", {"default_channels": ["C0DEFAULT"]})
    send_event(functions, slack, callback("T0LOCAL", {"type": "channel_archive", "channel": "C0DEFAULT"}))
    send_event(functions, slack, callback("T0LOCAL", {"type": "channel_unarchive", "channel": "C0DEFAULT"}))
    assert load_tenant_config("t_acme").channel_health == {}


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '{"type": "event_callback", "team_id": "T0LOCAL"}'])
def test_bodies_slack_would_never_send_are_400(functions, slack, body):
    headers = signed_headers(body, slack.signing_secret, content_type="application/json")
    answer = call_http(functions, "POST", "/slack/events", body=body, headers=headers)
    assert answer.status == 400
