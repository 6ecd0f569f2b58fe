"""Queue consumers, the digest fan-out and Slack's callbacks when AWS fails beneath them: the table gone, the
dead-letter queue or the digest queue gone, the Slack credentials secret emptied. What must hold: nothing is lost
(the SQS record fails and comes back, EventBridge's retry enqueues), nothing is posted twice, and Slack gets an
answer it understands (never a 500 with a stack trace)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from localdev.sqs_pump import scheduled_invocation_event
from sre_slack import container
from sre_slack.contracts.digest import DigestJob
from sre_slack.contracts.settings import get_settings
from sre_slack.storage.installations import get_installation
from sre_slack.storage.tenant_config import put_routing
from tests.e2e.test_feedback import CHANNEL, _click_payload, _post_payload, post_investigation
from tests.posting import (
    TENANT,
    attempt,
    delivery,
    example,
    is_labelled_resend,
    lambda_event,
    pump,
    queue_messages,
    setup_tenant,
    visible_count,
)
from tests.support import call_http, digest_marker, run_install, signed_headers

INV = "inv_01JD4X8Y2Z"
DAY = "2026-11-26"


def _delete_table() -> None:
    boto3.client("dynamodb").delete_table(TableName=get_settings().table_name)


def _delete_queue(aws, logical_id: str) -> None:
    boto3.client("sqs").delete_queue(QueueUrl=aws.queue_url(logical_id))


def _failed_ids(answer: dict) -> list[str]:
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


# ------------------------------------------------------------------------------------------------ post_investigation


def test_investigation_with_the_table_unreachable_fails_its_record_and_posts_nothing(functions, slack, aws):
    setup_tenant(functions, slack)
    event = lambda_event(aws, example())
    _delete_table()

    answer = functions.invoke("PostInvestigationFunction", event)

    # The record comes back (and after maxReceiveCount lands in the dead-letter queue): not lost.
    assert _failed_ids(answer) == [event["Records"][0]["messageId"]]
    assert slack.calls_to("chat.postMessage") == []


def test_ambiguous_post_needs_no_dead_letter_queue_and_is_resent_labelled(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    _delete_queue(aws, "InvestigationDeadLetterQueue")

    [first] = attempt(aws, example())
    assert first.failed_ids == first.message_ids
    assert delivery(INV, "C0PROD")["status"] == "retry"

    [second] = pump(aws, failed_visibility_timeout=0).run_once()

    # Slack may have the first post: the retry posts it once more, saying so.
    assert second.failed_ids == ()
    [message] = slack.messages("C0PROD")
    assert is_labelled_resend(message)


def test_malformed_message_without_a_dead_letter_queue_is_kept_on_the_queue(functions, slack, aws):
    setup_tenant(functions, slack)
    _delete_queue(aws, "InvestigationDeadLetterQueue")

    [result] = attempt(aws, "{not json")

    assert result.failed_ids == result.message_ids
    assert visible_count(aws) == (1, 0)
    assert slack.calls_to("chat.postMessage") == []


# ------------------------------------------------------------------------------------------------ digest worker


def _enqueue_digest(aws, body: str | None = None) -> str:
    body = body or DigestJob.model_validate({"tenant_id": TENANT, "day": DAY}).to_body()
    return boto3.client("sqs").send_message(QueueUrl=aws.queue_url("DigestQueue"), MessageBody=body)["MessageId"]


def _digest_installed(functions, slack) -> None:
    slack.add_channel("C0DIGEST", "digest")
    run_install(functions, slack)
    put_routing(TENANT, {"default_channels": [], "digest_channels": ["C0DIGEST"], "routes": []})


def test_digest_job_with_the_table_unreachable_fails_and_posts_nothing(functions, slack, aws):
    _digest_installed(functions, slack)
    job_id = _enqueue_digest(aws)
    _delete_table()

    [result] = pump(aws, failed_visibility_timeout=0).run_once()

    assert result.failed_ids == (job_id,)
    assert visible_count(aws, "DigestQueue") == (1, 0)
    assert slack.calls_to("chat.postMessage") == []


def test_ambiguous_digest_needs_no_dead_letter_queue_and_is_resent_labelled(functions, slack, aws):
    _digest_installed(functions, slack)
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    _delete_queue(aws, "DigestDeadLetterQueue")
    job_id = _enqueue_digest(aws)

    [first] = pump(aws, failed_visibility_timeout=0).run_once()
    assert first.failed_ids == (job_id,)
    assert digest_marker(TENANT, DAY, "C0DIGEST")["status"] == "retry"

    [second] = pump(aws, failed_visibility_timeout=0).run_once()

    assert second.failed_ids == ()
    [message] = slack.messages("C0DIGEST")
    assert is_labelled_resend(message)
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_invalid_digest_job_without_a_dead_letter_queue_is_kept_on_the_queue(functions, slack, aws):
    _delete_queue(aws, "DigestDeadLetterQueue")
    job_id = _enqueue_digest(aws, json.dumps({"tenant_id": TENANT}))

    [result] = pump(aws, failed_visibility_timeout=0).run_once()

    assert result.failed_ids == (job_id,)
    assert visible_count(aws, "DigestQueue") == (1, 0)


# ------------------------------------------------------------------------------------------------ digest fan-out


def test_fan_out_with_the_digest_queue_gone_fails_and_its_retry_enqueues_the_jobs(functions, slack, aws):
    _digest_installed(functions, slack)
    event = scheduled_invocation_event(aws, "DailyDigestFunction", datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    queue_name = aws.queue_url("DigestQueue").rsplit("/", 1)[1]
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=aws.queue_url("DigestQueue"),
                                                         AttributeNames=["VisibilityTimeout"])["Attributes"]
    _delete_queue(aws, "DigestQueue")

    # The invocation fails, so EventBridge retries the same event.
    with pytest.raises(Exception):  # noqa: B017 - boto3's QueueDoesNotExist, whatever its class
        functions.invoke("DailyDigestFunction", event)

    boto3.client("sqs").create_queue(QueueName=queue_name, Attributes=attributes)
    answer = functions.invoke("DailyDigestFunction", event)

    # The failed attempt was not recorded as done: the retry sends the jobs instead of replaying an answer.
    assert answer == {"day": DAY, "jobs": 1}
    [job] = queue_messages(aws, "DigestQueue")
    assert json.loads(job["Body"]) == {"tenant_id": TENANT, "day": DAY}


# ------------------------------------------------------------------------------------------------ Slack callbacks


def _send_event(functions, slack, body: dict):
    raw = json.dumps(body)
    return call_http(functions, "POST", "/slack/events", body=raw,
                     headers=signed_headers(raw, slack.signing_secret, content_type="application/json"))


UNINSTALLED = {"type": "event_callback", "team_id": "T0LOCAL", "api_app_id": "A0LOCAL", "event_id": "Ev01",
               "event": {"type": "app_uninstalled"}}


def test_event_with_the_table_unreachable_asks_slack_to_retry(functions, slack, aws):
    run_install(functions, slack)
    _delete_table()

    answer = _send_event(functions, slack, UNINSTALLED)

    assert answer.status == 503
    assert answer.json == {"error": "temporarily_unavailable", "message": "try again"}


def test_click_with_the_table_unreachable_is_acknowledged_and_changes_nothing(functions, slack, aws):
    slack.add_channel(CHANNEL, "alerts", bot_member=True)
    run_install(functions, slack)
    ts = post_investigation(slack)
    payload = _click_payload(slack, ts, "feedback_accurate")
    _delete_table()

    answer = _post_payload(functions, slack, payload)

    # Slack shows no error to the user for a 200; the message is left as it was.
    assert (answer.status, answer.body) == (200, "")
    assert slack.calls_to("chat.update") == []
    assert slack.calls_to("views.open") == []


def _empty_the_credentials_secret(aws) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.ref("SlackCredentials"),
        SecretString=json.dumps({"client_id": "", "client_secret": "", "signing_secret": ""}))
    container.reset()  # drops the cached secret, as the 5-minute cache would


def test_events_with_an_empty_credentials_secret_are_refused_and_change_nothing(functions, slack, aws):
    run_install(functions, slack)
    _empty_the_credentials_secret(aws)

    answer = _send_event(functions, slack, UNINSTALLED)

    # Our configuration, not a forgery: 503, so Slack retries the event once the secret is filled.
    assert answer.status == 503
    assert answer.json["error"] == "temporarily_unavailable"
    assert slack.signing_secret not in answer.body
    assert get_installation(TENANT).is_active


def test_clicks_with_an_empty_credentials_secret_are_refused_and_change_nothing(functions, slack, aws):
    slack.add_channel(CHANNEL, "alerts", bot_member=True)
    run_install(functions, slack)
    ts = post_investigation(slack)
    payload = _click_payload(slack, ts, "feedback_accurate")
    _empty_the_credentials_secret(aws)

    answer = _post_payload(functions, slack, payload)

    assert answer.status == 503
    assert answer.json["error"] == "temporarily_unavailable"
    assert slack.calls_to("chat.update") == []
