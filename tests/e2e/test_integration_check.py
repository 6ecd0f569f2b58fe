"""Test Integration (setup step 4): `POST /clusters/{cluster}/test` checks that a sample can reach Slack,
enqueues it, and the sample arrives in the routed channel marked as a test, not counted in the digest."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from sre_slack.storage import keys
from sre_slack.storage.installations import InstallationStatus, mark_installation
from sre_slack.storage.table import table
from sre_slack.storage.tenant_config import load_tenant_config, put_routing, record_channel_health
from tests.posting import (
    TENANT,
    delivery,
    item,
    pump,
    queue_messages,
    setup_tenant,
)
from tests.support import call_http

PATH = "/clusters/production-us-east/test"


def test_sample_is_enqueued_and_arrives_marked_as_a_test(functions, slack, aws):
    setup_tenant(functions, slack)
    answer = call_http(functions, "POST", PATH)

    assert answer.status == 202
    investigation_id = answer.json["investigation_id"]
    assert answer.json["channels"] == ["C0PROD"]
    [queued] = queue_messages(aws, "InvestigationQueue")
    sample = json.loads(queued["Body"])
    assert sample["test"] is True and sample["cluster"] == "production-us-east"
    assert sample["investigation_id"] == investigation_id

    pump(aws).drain()
    [message] = slack.messages("C0PROD")
    assert "TEST" in message.text
    assert delivery(investigation_id, "C0PROD")["status"] == "posted"
    assert item({"pk": keys.counts_pk(TENANT), "sk": "DAY#" + sample["alert"]["fired_at"][:10]}) is None


def test_each_click_is_its_own_sample(functions, slack, aws):
    setup_tenant(functions, slack)
    first = call_http(functions, "POST", PATH).json["investigation_id"]
    second = call_http(functions, "POST", PATH).json["investigation_id"]
    assert first != second
    pump(aws).drain()
    assert len(slack.messages("C0PROD")) == 2


def test_not_installed_is_409(functions, slack, aws):
    answer = call_http(functions, "POST", PATH)
    assert (answer.status, answer.json["error"]) == (409, "not_installed")
    assert queue_messages(aws, "InvestigationQueue") == []


def test_inactive_installation_is_409(functions, slack, aws):
    setup_tenant(functions, slack)
    mark_installation(TENANT, InstallationStatus.REVOKED, "token_revoked", drop_tokens=True)
    answer = call_http(functions, "POST", PATH)
    assert (answer.status, answer.json["error"]) == (409, "installation_inactive")
    assert "token_revoked" in answer.json["message"]


def test_revoked_token_found_by_the_preflight_is_409_and_recorded(functions, slack, aws):
    setup_tenant(functions, slack)
    for token in slack.tokens_for("T0LOCAL"):
        slack.revoke_token(token)
    answer = call_http(functions, "POST", PATH)
    # Slack refusing the token mid-check is answered like on every portal route (api/slack_failures.py).
    assert (answer.status, answer.json["error"], answer.json["reason"]) == (409, "not_installed", "token_revoked")
    assert load_tenant_config(TENANT).installation.status == "revoked"


def test_no_routing_and_no_route_for_the_cluster_are_409(functions, slack, aws):
    setup_tenant(functions, slack)
    put_routing(TENANT, {"routes": [{"cluster": "staging", "channels": ["C0PROD"]}]})
    answer = call_http(functions, "POST", PATH)
    assert (answer.status, answer.json["error"]) == (409, "no_channel_for_cluster")
    assert answer.json["cluster"] == "production-us-east"


CRITICAL_ONLY = {"default_channels": ["C0DEFAULT"],
                 "routes": [{"cluster": "production-us-east", "channels": ["C0PROD"], "severities": ["critical"]}]}


def test_by_default_the_sample_takes_the_most_severe_severity_of_the_cluster_routes(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}, "C0DEFAULT": {}}, routing=CRITICAL_ONLY)
    answer = call_http(functions, "POST", PATH)
    # The critical-only cluster route is the one exercised, not the default channels.
    assert (answer.status, answer.json["channels"], answer.json["severity"]) == (202, ["C0PROD"], "critical")
    pump(aws).drain()
    [message] = slack.messages("C0PROD")
    assert "[critical]" in message.text and "TEST" in message.text
    assert slack.messages("C0DEFAULT") == []


def test_a_cluster_route_narrowed_to_info_is_tested_with_an_info_sample(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}, "C0DEFAULT": {}}, routing={
        "default_channels": ["C0DEFAULT"],
        "routes": [{"cluster": "production-us-east", "channels": ["C0PROD"], "severities": ["info"]}]})
    answer = call_http(functions, "POST", PATH)
    assert (answer.status, answer.json["channels"], answer.json["severity"]) == (202, ["C0PROD"], "info")


def test_the_portal_chooses_the_severity_and_the_route_by_severity_is_respected(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}, "C0DEFAULT": {}}, routing=CRITICAL_ONLY)
    answer = call_http(functions, "POST", PATH, body=json.dumps({"severity": "warning"}))
    assert (answer.status, answer.json["channels"], answer.json["severity"]) == (202, ["C0DEFAULT"], "warning")
    [queued] = queue_messages(aws, "InvestigationQueue")
    assert json.loads(queued["Body"])["alert"]["severity"] == "warning"
    pump(aws).drain()
    [message] = slack.messages("C0DEFAULT")
    assert "[warning]" in message.text
    assert slack.messages("C0PROD") == []


def test_a_severity_no_route_takes_is_409_naming_it(functions, slack, aws):
    setup_tenant(functions, slack, routing={"routes": [CRITICAL_ONLY["routes"][0]]})
    answer = call_http(functions, "POST", PATH, body=json.dumps({"severity": "info"}))
    assert (answer.status, answer.json["error"], answer.json["severity"]) == (409, "no_channel_for_cluster", "info")
    assert "no info alerts" in answer.json["message"]


@pytest.mark.parametrize("body", ['{"severity": "CRITICAL"}', '{"severity": "error"}', '{"colour": "red"}',
                                  '["critical"]', '{"severity":', '{"workspace": ""}', '{"workspace": 7}'])
def test_an_invalid_body_is_400_and_enqueues_nothing(functions, slack, aws, body):
    setup_tenant(functions, slack)
    answer = call_http(functions, "POST", PATH, body=body)
    assert (answer.status, answer.json["error"]) == (400, "invalid_body")
    assert answer.json["message"].startswith("invalid request body: ")
    assert queue_messages(aws, "InvestigationQueue") == []


@pytest.mark.parametrize("cluster", ["%20production-us-east", "production-us-east%20", "%20", "c" * 257])
def test_a_cluster_name_no_route_could_name_is_400(functions, slack, aws, cluster):
    setup_tenant(functions, slack)
    answer = call_http(functions, "POST", f"/clusters/{cluster}/test")
    assert (answer.status, answer.json["error"]) == (400, "invalid_cluster")
    assert "1-256 characters" in answer.json["message"]
    assert queue_messages(aws, "InvestigationQueue") == []


def test_the_longest_cluster_name_a_route_takes_is_tested(functions, slack, aws):
    cluster = "c" * 256
    setup_tenant(functions, slack, routing={"routes": [{"cluster": cluster, "channels": ["C0PROD"]}]})
    answer = call_http(functions, "POST", f"/clusters/{cluster}/test")
    assert (answer.status, answer.json["channels"]) == (202, ["C0PROD"])


def test_channel_problems_are_409_with_the_channel(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}})
    slack.archive_channel("C0PROD")
    answer = call_http(functions, "POST", PATH)
    assert (answer.status, answer.json["error"], answer.json["channel"]) == (409, "channel_archived", "C0PROD")

    slack.delete_channel("C0PROD")
    answer = call_http(functions, "POST", PATH)
    assert (answer.status, answer.json["error"]) == (409, "channel_not_found")
    assert queue_messages(aws, "InvestigationQueue") == []


def test_private_channel_without_the_bot_is_409(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PRIV": {"is_private": True, "bot_member": True}})
    answer = call_http(functions, "POST", PATH)
    assert answer.status == 202  # a member: fine

    # Kicked out of a private channel, the bot can no longer see it at all.
    slack.set_bot_member("C0PRIV", False)
    answer = call_http(functions, "POST", PATH)
    assert (answer.status, answer.json["error"]) == (409, "channel_not_found")


def test_public_channel_needs_membership_without_chat_write_public(functions, slack, aws):
    setup_tenant(functions, slack)
    installation = load_tenant_config(TENANT).installation
    # An install from before chat:write.public was requested.
    narrowed = replace(installation, scopes=("chat:write", "channels:read", "groups:read"))
    table().put(narrowed.to_values())
    answer = call_http(functions, "POST", PATH)
    assert (answer.status, answer.json["error"]) == (409, "bot_not_in_channel")

    slack.set_bot_member("C0PROD", True)
    assert call_http(functions, "POST", PATH).status == 202


def test_passing_preflight_clears_a_failing_channel_mark(functions, slack, aws):
    setup_tenant(functions, slack)
    record_channel_health(TENANT, "C0PROD", status="failing", reason="not_in_channel", permanent=True)
    answer = call_http(functions, "POST", PATH)
    assert answer.status == 202
    assert "C0PROD" not in load_tenant_config(TENANT).channel_health
    pump(aws).drain()
    assert len(slack.messages("C0PROD")) == 1


def test_slack_rate_limit_is_503_with_retry_after(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("conversations.info", retry_after=7)
    answer = call_http(functions, "POST", PATH)
    assert answer.status == 503 and answer.headers.get("Retry-After") == "7"


def test_without_tenant_claim_is_403(functions, slack, aws):
    answer = call_http(functions, "POST", PATH, tenant=None, claims={"sub": "someone"})
    assert answer.status == 403
