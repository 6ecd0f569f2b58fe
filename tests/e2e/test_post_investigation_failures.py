"""Slack failures by class, as a reader of the channel and an operator see them: what got posted, what the
delivery record says, whether the SQS record comes back, and what happened to the installation."""

from __future__ import annotations

import json
import time
from typing import Any

from sre_slack.contracts.investigation import parse_investigation_message
from sre_slack.domain.delivery_policy import DeliveryStatus
from sre_slack.storage import investigations, keys
from sre_slack.storage.installations import get_installation
from sre_slack.storage.investigations import InitialDelivery
from sre_slack.storage.ledger import Attempt
from sre_slack.storage.tenant_config import load_tenant_config, put_routing
from tests.posting import (
    TENANT,
    VisibilityChanges,
    attempt,
    deliver,
    delivery,
    example,
    invoke_like_lambda,
    is_labelled_resend,
    item,
    lambda_event,
    pump,
    queue_messages,
    redrive,
    send,
    setup_tenant,
    visible_count,
)

INV = "inv_01JD4X8Y2Z"


def _retry_now(aws):
    """SQS's next receive of the records failed by `attempt`."""
    return pump(aws).drain()


# ------------------------------------------------------------------------------------------------ transient


def test_service_unavailable_fails_the_record_and_the_retry_posts_once(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", status=503)
    [first] = attempt(aws, example())

    assert first.failed_ids == first.message_ids
    assert slack.messages("C0PROD") == []
    assert delivery(INV, "C0PROD")["status"] == "retry"

    _retry_now(aws)
    assert len(slack.messages("C0PROD")) == 1
    assert delivery(INV, "C0PROD")["status"] == "posted"
    assert queue_messages(aws, DLQ) == []  # Slack certainly refused it: nothing for an operator to check


def test_rate_limited_record_comes_back_after_retry_after_not_the_visibility_timeout(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", retry_after=1)
    [first] = deliver(aws, example())
    assert first.failed_ids == first.message_ids
    assert delivery(INV, "C0PROD")["status"] == "retry"

    # The queue's visibility timeout is 180 s; Retry-After (1 s) brings the message back long before.
    for _ in range(100):
        if visible_count(aws)[0] == 1:
            break
        time.sleep(0.1)
    assert visible_count(aws)[0] == 1
    pump(aws).drain()
    assert len(slack.messages("C0PROD")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert queue_messages(aws, DLQ) == []


def test_update_failing_transiently_is_retried_until_applied(functions, slack, aws):
    setup_tenant(functions, slack)
    deliver(aws, example())
    slack.fail_next("chat.update", error="internal_error", status=500)
    [result] = attempt(aws, example("alert_resolved"))
    assert result.failed_ids == result.message_ids

    _retry_now(aws)
    [message] = slack.top_level("C0PROD")
    assert message.text.startswith("✅ Resolved")


# ------------------------------------------------------------------------------------------------ ambiguous


DLQ = "InvestigationDeadLetterQueue"


def _attributes(message: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()}


def test_internal_error_on_post_comes_back_after_a_backoff_and_is_resent_labelled(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    asked = VisibilityChanges()
    [first] = attempt(aws, example())

    # Nothing waits for a person: the record fails and comes back by itself, after the re-send backoff (30 s),
    # not at once and not after the queue's whole visibility timeout (180 s).
    assert first.failed_ids == first.message_ids
    assert asked.seconds == [30]
    record = delivery(INV, "C0PROD")
    assert (record["status"], record["resend"], record["resends"]) == ("retry", True, 1)
    assert "internal_error" in record["reason"]

    _retry_now_after_backoff(aws)
    [message] = slack.messages("C0PROD")
    assert is_labelled_resend(message)
    assert delivery(INV, "C0PROD")["status"] == "posted"
    assert queue_messages(aws, DLQ) == [] and visible_count(aws) == (0, 0)


def _retry_now_after_backoff(aws):
    """SQS's next receive once the backoff has passed (the pump makes the failed records visible at once)."""
    return pump(aws, failed_visibility_timeout=0).drain()


def test_connection_dropped_after_sending_is_resent_labelled(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", close_connection=True)
    [first] = attempt(aws, example())

    assert first.failed_ids == first.message_ids
    assert delivery(INV, "C0PROD")["resend"] is True
    _retry_now_after_backoff(aws)
    [message] = slack.messages("C0PROD")
    assert is_labelled_resend(message)


def test_a_500_then_internal_error_then_a_429_end_with_one_labelled_post(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", error="http_500", status=500)
    slack.fail_next("chat.postMessage", error="internal_error", status=200)
    slack.fail_next("chat.postMessage", retry_after=2)
    send(aws, example())
    pump(aws, failed_visibility_timeout=0).drain()

    [message] = slack.messages("C0PROD")
    assert is_labelled_resend(message)
    assert len(slack.calls_to("chat.postMessage")) == 4
    record = delivery(INV, "C0PROD")
    assert (record["status"], record["resends"]) == ("posted", 2)
    assert queue_messages(aws, DLQ) == [] and visible_count(aws) == (0, 0)


def test_a_resent_message_keeps_its_label_when_it_is_updated(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    attempt(aws, example())
    _retry_now_after_backoff(aws)
    deliver(aws, example("alert_resolved"))

    [message] = slack.top_level("C0PROD")
    assert message.text.startswith("[re-sent]") and "Resolved" in message.text
    assert is_labelled_resend(message)


def _claim_left_by_a_dead_invocation() -> None:
    """What an invocation that claimed the channel and then died (Lambda timeout) leaves behind."""
    inv = parse_investigation_message(json.dumps(example()))
    assert investigations.record_first_sighting(TENANT, inv, [InitialDelivery("C0PROD", DeliveryStatus.POSTING)],
                                                attempt=Attempt("dead-attempt", time.time() - 1))


def test_a_claim_left_by_a_dead_invocation_is_taken_over_and_resent_labelled(functions, slack, aws):
    setup_tenant(functions, slack)
    _claim_left_by_a_dead_invocation()
    [result] = deliver(aws, example())  # SQS delivers the message again after the dead invocation

    assert result.failed_ids == ()
    [message] = slack.messages("C0PROD")
    assert is_labelled_resend(message)
    assert delivery(INV, "C0PROD")["status"] == "posted"
    assert queue_messages(aws, DLQ) == []


def test_still_failing_at_the_last_receive_it_lands_in_the_dead_letter_queue_with_its_reason(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    event = lambda_event(aws, example(), receive_count=20)  # InvestigationQueue's maxReceiveCount
    source_id = event["Records"][0]["messageId"]

    answer = invoke_like_lambda(functions, aws, event)

    # Handed over with its reason now, rather than moved by SQS on the next receive without one.
    assert answer == {"batchItemFailures": []}
    [dead] = queue_messages(aws, DLQ)
    assert json.loads(dead["Body"]) == example()
    attributes = _attributes(dead)
    assert attributes["source_message_id"] == source_id
    assert attributes["reason"].startswith("still failing after 20 receives: C0PROD:")
    assert "internal_error" in attributes["reason"]

    # The operator redrives it once Slack is healthy: it is posted once, labelled (Slack may have the first try).
    assert redrive(aws, DLQ, "InvestigationQueue") == 1
    pump(aws).drain()
    [message] = slack.messages("C0PROD")
    assert is_labelled_resend(message)


def test_redriving_twice_posts_only_once(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    invoke_like_lambda(functions, aws, lambda_event(aws, example(), receive_count=20))

    redrive(aws, DLQ, "InvestigationQueue", copies=2)
    # The two copies may run in parallel: one posts, the other backs off from its live claim and, received
    # again, finds the delivery posted.
    pump(aws, failed_visibility_timeout=0).drain()

    assert visible_count(aws) == (0, 0)
    assert delivery(INV, "C0PROD")["status"] == "posted"
    assert len(slack.messages("C0PROD")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2  # the ambiguous one, and the redrive
    assert queue_messages(aws, DLQ) == []


# ------------------------------------------------------------------------------------------------ channel


def test_channel_errors_are_recorded_as_channel_health_and_not_retried(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}, "C0PRIV": {"is_private": True, "bot_member": True},
                                    "C0OLD": {}})
    slack.delete_channel("C0PROD")
    slack.set_bot_member("C0PRIV", False)  # private: invisible to the bot now
    slack.archive_channel("C0OLD")
    [result] = deliver(aws, example())

    assert result.failed_ids == ()
    assert delivery(INV, "C0PROD")["status"] == "failed"
    assert delivery(INV, "C0PROD")["reason"] == "channel: channel_not_found"
    assert delivery(INV, "C0OLD")["reason"] == "channel: is_archived"
    health = load_tenant_config(TENANT).channel_health
    assert {c: (h.reason, h.permanent) for c, h in health.items()} == {
        "C0PROD": ("channel_not_found", True), "C0PRIV": ("channel_not_found", True), "C0OLD": ("is_archived", True)}


def test_not_in_channel_is_a_channel_failure(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", error="not_in_channel")
    deliver(aws, example())
    assert delivery(INV, "C0PROD")["reason"] == "channel: not_in_channel"


def test_failing_channel_is_skipped_until_routing_is_saved_again(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}, "C0LEADS": {}})
    slack.archive_channel("C0PROD")
    deliver(aws, example())
    calls_before = len(slack.calls_to("chat.postMessage"))

    deliver(aws, example(investigation_id="inv_second"))
    assert len(slack.calls_to("chat.postMessage")) == calls_before + 1  # C0LEADS only
    assert delivery("inv_second", "C0PROD")["status"] == "skipped"

    time.sleep(1.1)  # routing timestamps have one-second resolution
    put_routing(TENANT, {"routes": [{"cluster": "production-us-east", "channels": ["C0PROD", "C0LEADS"]}]})
    slack.add_channel("C0PROD", "prod-reborn")
    deliver(aws, example(investigation_id="inv_third"))
    assert delivery("inv_third", "C0PROD")["status"] == "posted"
    assert "C0PROD" not in load_tenant_config(TENANT).channel_health


# ------------------------------------------------------------------------------------------------ payload


def test_payload_rejected_is_recorded_with_the_slack_error_and_not_retried(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", error="invalid_blocks")
    [result] = deliver(aws, example())

    assert result.failed_ids == ()
    record = delivery(INV, "C0PROD")
    assert record["status"] == "failed" and "invalid_blocks" in record["reason"]


# ------------------------------------------------------------------------------------------------ installation


def test_revoked_token_marks_the_installation_and_later_alerts_are_undeliverable(functions, slack, aws):
    setup_tenant(functions, slack)
    for token in slack.tokens_for("T0LOCAL"):
        slack.revoke_token(token)
    [result] = deliver(aws, example())

    assert result.failed_ids == ()
    assert delivery(INV, "C0PROD")["status"] == "undeliverable"
    installation = get_installation(TENANT)
    assert installation.status == "revoked" and installation.status_reason == "token_revoked"
    assert installation.token_ciphertext is None

    calls = len(slack.calls)
    [later] = deliver(aws, example(investigation_id="inv_later"))
    assert later.failed_ids == ()
    assert len(slack.calls) == calls
    assert delivery("inv_later", "C0PROD")["status"] == "undeliverable"


def test_invalid_auth_marks_the_installation_inactive(functions, slack, aws):
    setup_tenant(functions, slack)
    slack.fail_next("chat.postMessage", error="invalid_auth")
    deliver(aws, example())

    installation = get_installation(TENANT)
    assert installation.status == "inactive" and installation.status_reason == "invalid_auth"
    assert delivery(INV, "C0PROD")["status"] == "undeliverable"


def test_tenant_without_installation_is_recorded_undeliverable(functions, slack, aws):
    [result] = deliver(aws, example())
    assert result.failed_ids == ()
    assert delivery(INV, "-")["status"] == "undeliverable"
    assert delivery(INV, "-")["reason"] == "not_installed"
    assert slack.calls == []


def test_no_route_is_recorded_as_skipped(functions, slack, aws):
    setup_tenant(functions, slack, routing={"routes": [{"cluster": "staging", "channels": ["C0PROD"]}]})
    [result] = deliver(aws, example())
    assert result.failed_ids == ()
    assert delivery(INV, "-")["status"] == "skipped"
    assert slack.calls_to("chat.postMessage") == []


# ------------------------------------------------------------------------------------------------ several channels


def test_one_failing_channel_does_not_repost_to_the_others(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}, "C0LEADS": {}, "C0SRE": {}})
    slack.fail_next("chat.postMessage", status=503, channel="C0LEADS")
    [first] = attempt(aws, example())
    assert first.failed_ids == first.message_ids
    assert [len(slack.messages(c)) for c in ("C0PROD", "C0LEADS", "C0SRE")] == [1, 0, 1]

    _retry_now(aws)
    assert [len(slack.messages(c)) for c in ("C0PROD", "C0LEADS", "C0SRE")] == [1, 1, 1]
    assert len(slack.calls_to("chat.postMessage")) == 4


def test_message_gone_on_update_is_recorded_not_reposted(functions, slack, aws):
    setup_tenant(functions, slack)
    deliver(aws, example())
    slack.fail_next("chat.update", error="message_not_found")
    [result] = deliver(aws, example("alert_resolved"))

    assert result.failed_ids == ()
    assert delivery(INV, "C0PROD")["status"] == "gone"
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_an_update_refused_for_good_is_recorded_beside_the_posted_message_until_one_succeeds(functions, slack, aws):
    setup_tenant(functions, slack)
    deliver(aws, example())
    slack.archive_channel("C0PROD")
    [result] = deliver(aws, example("alert_resolved"))

    assert result.failed_ids == ()
    row = delivery(INV, "C0PROD")
    assert (row["status"], row["update_refused"]) == ("posted", "channel: is_archived")
    [message] = slack.messages("C0PROD")
    assert not message.text.startswith("✅ Resolved")

    slack.store.channels["C0PROD"].is_archived = False  # unarchived: the next re-investigation updates it again
    deliver(aws, example(root_cause="Revised: the limit was lowered twice."))
    assert "update_refused" not in delivery(INV, "C0PROD")
    assert "Revised: the limit was lowered twice." in str(slack.messages("C0PROD")[0].blocks)


# ------------------------------------------------------------------------------------------------ malformed


def test_malformed_message_goes_to_the_dead_letter_queue_with_the_reason(functions, slack, aws):
    setup_tenant(functions, slack)
    bad = example()
    del bad["alert"]["severity"]
    [source_id] = send(aws, bad)
    send(aws, "not json at all")
    results = pump(aws).drain()

    assert all(r.failed_ids == () for r in results)
    assert visible_count(aws) == (0, 0)  # gone from the source queue...
    dead = queue_messages(aws, "InvestigationDeadLetterQueue")  # ...and kept in the DLQ, with why
    reasons = {m["Body"][:20]: m["MessageAttributes"]["reason"]["StringValue"] for m in dead}
    assert len(dead) == 2
    assert "alert.severity" in reasons[json.dumps(bad)[:20]]
    assert "not JSON" in reasons["not json at all"]
    assert source_id in {m["MessageAttributes"]["source_message_id"]["StringValue"] for m in dead}
    assert slack.calls_to("chat.postMessage") == []
    assert delivery(INV, "C0PROD") is None
    assert item(keys.seen_key(TENANT, INV)) is None  # nothing marked seen, nothing counted
