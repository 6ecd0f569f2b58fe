"""Portal routes when something beneath them fails: DynamoDB or the investigation queue gone, Slack unreachable,
a body or a cluster name the portal should never send. What the portal shows is a JSON error (never a stack
trace), and nothing is half done: no sample enqueued, no routing stored, nothing posted."""

from __future__ import annotations

import json

import boto3
import pytest

from sre_slack.contracts.settings import get_settings
from sre_slack.slack import directory as channel_directory
from sre_slack.storage.installations import get_installation
from sre_slack.storage.tenant_config import load_tenant_config
from tests.posting import TENANT, queue_messages, setup_tenant
from tests.support import call_http, run_install

TEST_PATH = "/clusters/production-us-east/test"
ROUTING = {"default_channels": ["C0PROD"], "routes": []}


@pytest.fixture(autouse=True)
def _fresh_channel_cache():
    channel_directory.clear_cache()
    yield
    channel_directory.clear_cache()


def _delete_table() -> None:
    """DynamoDB unreachable for the function: its table no longer answers (ResourceNotFoundException)."""
    boto3.client("dynamodb").delete_table(TableName=get_settings().table_name)


def _delete_queue(aws, logical_id: str) -> None:
    boto3.client("sqs").delete_queue(QueueUrl=aws.queue_url(logical_id))


def _assert_internal_error(answer) -> None:
    assert answer.status == 500
    assert answer.json == {"error": "internal_error",
                           "message": "something went wrong on our side; it has been logged"}
    assert "Traceback" not in answer.body and "Exception" not in answer.body


def _slack_unreachable(slack, method: str) -> None:
    """Every connection to Slack for `method` is dropped: the first attempt and the read client's two retries."""
    slack.fail_next(method, close_connection=True, times=3)


# ------------------------------------------------------------------------------------------------ DynamoDB gone


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/slack/installation", None),
    ("DELETE", "/slack/installation", None),
    ("GET", "/slack/channels", None),
    ("GET", "/routing", None),
    ("PUT", "/routing", json.dumps(ROUTING)),
    ("POST", TEST_PATH, None),
    ("GET", "/investigations/inv_01/feedback", None),
])
def test_portal_routes_answer_a_json_500_when_the_table_is_unreachable(functions, slack, aws, method, path, body):
    setup_tenant(functions, slack)
    _delete_table()

    answer = call_http(functions, method, path, body=body)

    _assert_internal_error(answer)
    assert slack.calls_to("chat.postMessage") == []
    assert queue_messages(aws, "InvestigationQueue") == []


def test_install_button_answers_a_json_500_when_the_table_is_unreachable(functions, slack, aws):
    _delete_table()

    answer = call_http(functions, "POST", "/slack/install")

    _assert_internal_error(answer)
    assert "authorize_url" not in answer.body


def test_delete_with_the_table_unreachable_does_not_revoke_the_token_at_slack(functions, slack, aws):
    """The installation cannot be read, so nothing is revoked: the admin retries once the table is back."""
    setup_tenant(functions, slack)
    _delete_table()

    answer = call_http(functions, "DELETE", "/slack/installation")

    _assert_internal_error(answer)
    assert slack.calls_to("auth.revoke") == []


# ------------------------------------------------------------------------------------------------ queue gone


def test_test_integration_with_the_queue_gone_is_an_error_not_a_202(functions, slack, aws):
    setup_tenant(functions, slack)
    _delete_queue(aws, "InvestigationQueue")

    answer = call_http(functions, "POST", TEST_PATH)

    # The portal must not announce a sample that will never arrive; it may try again.
    assert answer.status == 503
    assert answer.json["error"] == "queue_unavailable"
    assert answer.headers.get("Retry-After") == "5"
    assert "investigation_id" not in answer.body
    assert slack.calls_to("chat.postMessage") == []


# ------------------------------------------------------------------------------------------------ Slack unreachable


def test_test_integration_with_slack_unreachable_is_503_and_enqueues_nothing(functions, slack, aws):
    setup_tenant(functions, slack)
    _slack_unreachable(slack, "conversations.info")

    answer = call_http(functions, "POST", TEST_PATH)

    assert answer.status == 503
    assert answer.json["error"] == "slack_unavailable"
    assert {k.lower(): v for k, v in answer.headers.items()}["retry-after"] == "5"
    assert queue_messages(aws, "InvestigationQueue") == []
    assert get_installation(TENANT).is_active


def test_channel_picker_with_slack_unreachable_is_503_and_the_installation_stays_active(functions, slack):
    run_install(functions, slack)
    _slack_unreachable(slack, "conversations.list")

    answer = call_http(functions, "GET", "/slack/channels")

    assert answer.status == 503
    assert answer.json["error"] == "slack_unavailable"
    assert get_installation(TENANT).is_active
    # Nothing was cached from the failure: once Slack answers, the picker lists channels.
    assert call_http(functions, "GET", "/slack/channels").status == 200


def test_routing_save_with_slack_unreachable_is_503_and_stores_nothing(functions, slack):
    slack.add_channel("C0PROD", "prod")
    run_install(functions, slack)
    _slack_unreachable(slack, "conversations.list")
    _slack_unreachable(slack, "conversations.info")

    answer = call_http(functions, "PUT", "/routing", body=json.dumps(ROUTING))

    assert answer.status == 503
    assert answer.json["error"] == "slack_unavailable"
    assert load_tenant_config(TENANT).routing_raw is None


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("body", ["{not json", "[1, 2", '{"workspace": ""}', '{"workspace": 42}'])
def test_test_integration_refuses_a_body_it_cannot_read_and_enqueues_nothing(functions, slack, aws, body):
    setup_tenant(functions, slack)

    answer = call_http(functions, "POST", TEST_PATH, body=body)

    assert answer.status == 400
    assert answer.json["error"] == "invalid_body"
    assert answer.json["message"]
    assert queue_messages(aws, "InvestigationQueue") == []
    assert slack.calls_to("conversations.info") == []


@pytest.mark.parametrize("cluster", ["%20%20", "x" * 257])  # a route names at most 256 characters
def test_test_integration_refuses_a_cluster_name_out_of_bounds(functions, slack, aws, cluster):
    setup_tenant(functions, slack)

    answer = call_http(functions, "POST", f"/clusters/{cluster}/test")

    assert answer.status == 400
    assert answer.json["error"] == "invalid_cluster"
    assert queue_messages(aws, "InvestigationQueue") == []


def test_feedback_of_an_investigation_id_with_unsafe_characters_is_400(functions, slack):
    answer = call_http(functions, "GET", "/investigations/inv%3Cscript%3E/feedback")
    assert answer.status == 400
    assert answer.json["error"] == "invalid_investigation_id"
