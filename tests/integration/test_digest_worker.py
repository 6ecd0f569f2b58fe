"""The digest worker end to end: jobs on the digest queue, the real handler (via the local SQS pump), counters in
moto, and the message as the Slack stand-in received it."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import date, timedelta

import boto3
import pytest

from localdev.digest_cli import install_example_tenant, record_alert
from localdev.sqs_pump import SqsPump, sqs_record
from sre_slack.aws import client as aws_client
from sre_slack.blocks.limits import validate_message
from sre_slack.contracts.digest import DigestJob
from sre_slack.queues.batch import Deadline
from sre_slack.services.digest import post_digest
from sre_slack.slack import tokens
from sre_slack.storage.installations import InstallationStatus, get_installation, mark_installation
from sre_slack.storage.tenant_config import load_tenant_config, put_routing
from tests.fixtures import TEMPLATE
from tests.posting import is_labelled_resend, queue_messages, redrive, visible_count
from tests.support import claim_digest, digest_marker, run_install

DAY = date(2026, 11, 26)


@pytest.fixture
def pump(aws) -> SqsPump:
    # Failed jobs become visible again at once, so a test can watch the retry without waiting 3 minutes.
    return SqsPump(TEMPLATE, aws, failed_visibility_timeout=0, quiet=True)


DLQ = "DigestDeadLetterQueue"


def _enqueue(aws, tenant: str = "t_acme", day: date = DAY, copies: int = 1) -> list[str]:
    sqs = boto3.client("sqs")
    body = DigestJob(tenant_id=tenant, day=day).to_body()
    return [sqs.send_message(QueueUrl=aws.queue_url("DigestQueue"), MessageBody=body)["MessageId"]
            for _ in range(copies)]


def _dead_letters(aws) -> list[tuple[dict, dict[str, str]]]:
    """(job, message attributes) of every copy in the digest dead-letter queue."""
    return [(json.loads(m["Body"]), {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()})
            for m in queue_messages(aws, DLQ)]


def _visible_text(message) -> str:
    """Everything a reader sees in the message: header, sections, fields and context elements."""
    parts: list[str] = []
    for block in message.blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e.get("text", "") for e in block.get("elements", []) if isinstance(e, dict)]
    return "\n".join(parts)


def _logged_reasons(caplog, message: str) -> list[str]:
    """The `reason` of every log line with this message (Powertools keeps extra keys on the record)."""
    return [str(getattr(r, "reason", None)) for r in caplog.records if r.getMessage() == message]


def _installed(functions, slack, routing: dict, tenant: str = "t_acme") -> None:
    run_install(functions, slack, tenant=tenant)
    put_routing(tenant, {"default_channels": [], "digest_channels": [], "routes": [], **routing})


def _two_days(tenant: str = "t_acme") -> None:
    """3 memory alerts the day before, 7 on the day; a disk alert that did not exist the day before."""
    record_alert(tenant, DAY - timedelta(days=1), severity="warning", namespace="payments",
                 alert="ContainerMemoryNearLimit", cluster="prod", times=3)
    record_alert(tenant, DAY, severity="warning", namespace="payments", alert="ContainerMemoryNearLimit",
                 cluster="prod", times=7)
    record_alert(tenant, DAY, severity="critical", namespace=None, alert="NodeDiskPressure", cluster="prod", times=2)


def test_digest_with_the_days_numbers_goes_to_each_digest_channel(functions, slack, pump, aws):
    _installed(functions, slack, {"default_channels": ["C0ALERTS"], "digest_channels": ["C0INCIDENTS", "G0OPS"]})
    _two_days()
    _enqueue(aws)

    [batch] = pump.run_once()

    assert batch.failed_ids == ()
    assert slack.messages("C0ALERTS") == []
    for channel in ("C0INCIDENTS", "G0OPS"):
        [message] = slack.messages(channel)
        text = _visible_text(message)
        assert "Thursday, 26 Nov 2026" in text
        assert "9 alerts" in text and "▲ +6 vs 3 the day before" in text
        assert re.search(r"payments +7  ▲ 3 → 7", text)  # 3 -> 7 memory alerts in payments: no percentage
        assert "🌀 `ContainerMemoryNearLimit` · `payments` · `prod` — 7 alerts" in text  # a storm from 5 alike
        assert "NodeDiskPressure" in text and "new" in text
        assert "ContainerMemoryNearLimit" in text and "3 → 7" in text
        assert message.text == "Alert digest for 2026-11-26: 9 alerts (▲ +6 vs previous day)"
        stored = digest_marker("t_acme", DAY, channel)
        assert stored["status"] == "posted" and stored["ts"] == message.ts


def test_without_digest_channels_the_default_channels_get_it(functions, slack, pump, aws):
    _installed(functions, slack, {"default_channels": ["C0ALERTS"]})
    _two_days()
    _enqueue(aws)
    pump.run_once()
    assert len(slack.messages("C0ALERTS")) == 1


def test_a_duplicate_job_posts_once(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _two_days()
    _enqueue(aws, copies=3)

    pump.drain()

    # The copies of one batch run in parallel: one posts, the others find its claim, back off and, received
    # again, find the digest posted. Nothing is left in the queue and nothing went to the dead-letter queue.
    assert len(slack.messages("C0ALERTS")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert visible_count(aws, "DigestQueue") == (0, 0) and _dead_letters(aws) == []
    # Next morning's schedule event delivered twice, days later: still nothing new.
    _enqueue(aws, copies=2)
    pump.drain()
    assert len(slack.messages("C0ALERTS")) == 1


def test_a_failed_post_is_retried_and_posted_once(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS", "C0INCIDENTS"]})
    _two_days()
    # 503: Slack refused the request, so the digest is certainly not there and a retry is safe.
    slack.fail_next("chat.postMessage", status=503, channel="C0INCIDENTS")
    _enqueue(aws)

    [first] = pump.run_once()

    assert len(first.failed_ids) == 1
    assert len(slack.messages("C0ALERTS")) == 1
    assert slack.messages("C0INCIDENTS") == []
    assert digest_marker("t_acme", DAY, "C0INCIDENTS")["status"] == "retry"

    [second] = pump.run_once()

    assert second.failed_ids == ()
    assert len(slack.messages("C0ALERTS")) == 1  # not posted again
    assert len(slack.messages("C0INCIDENTS")) == 1
    assert digest_marker("t_acme", DAY, "C0INCIDENTS")["status"] == "posted"
    assert _dead_letters(aws) == []


def test_an_internal_error_is_resent_labelled_and_the_other_channel_keeps_its_one_post(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS", "C0INCIDENTS"]})
    _two_days()
    # A 500 internal_error: Slack may have posted the digest anyway.
    slack.fail_next("chat.postMessage", status=500, channel="C0INCIDENTS")
    _enqueue(aws)

    [first] = pump.run_once()

    assert len(first.failed_ids) == 1  # comes back by itself, after the re-send backoff
    assert len(slack.messages("C0ALERTS")) == 1 and slack.messages("C0INCIDENTS") == []
    marker = digest_marker("t_acme", DAY, "C0INCIDENTS")
    assert (marker["status"], marker["resend"]) == ("retry", True)

    pump.drain()
    [incidents] = slack.messages("C0INCIDENTS")
    assert is_labelled_resend(incidents)
    [alerts] = slack.messages("C0ALERTS")
    assert not is_labelled_resend(alerts)
    assert len(slack.calls_to("chat.postMessage")) == 3
    assert _dead_letters(aws) == []

    _enqueue(aws)  # the schedule's job delivered again: nothing new
    pump.drain()
    assert len(slack.calls_to("chat.postMessage")) == 3


def _last_receive(functions, aws) -> str:
    """The digest job received for the last time its queue allows (maxReceiveCount), then handled."""
    [source_id] = _enqueue(aws)
    sqs = boto3.client("sqs")
    url = aws.queue_url("DigestQueue")
    [message] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
    record = sqs_record(message, queue_arn=aws.queue_arn("DigestQueue"), region=aws.region)
    record["attributes"]["ApproximateReceiveCount"] = "10"
    assert functions.invoke("DigestWorkerFunction", {"Records": [record]}) == {"batchItemFailures": []}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return source_id


def test_still_failing_at_the_last_receive_the_job_lands_in_the_dead_letter_queue_with_its_reason(
        functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _two_days()
    slack.fail_next("chat.postMessage", error="fatal_error", status=500)
    source_id = _last_receive(functions, aws)

    [(job, attributes)] = _dead_letters(aws)
    assert job == {"tenant_id": "t_acme", "day": DAY.isoformat()}
    assert attributes["source_message_id"] == source_id
    assert attributes["reason"].startswith("still failing after 10 receives: C0ALERTS:")

    # Redriven once Slack is healthy: posted once, labelled; a second copy of the redrive posts nothing.
    redrive(aws, DLQ, "DigestQueue", copies=2)
    pump.drain()
    [message] = slack.messages("C0ALERTS")
    assert is_labelled_resend(message)
    assert len(slack.calls_to("chat.postMessage")) == 2  # the ambiguous one, and one after the redrive
    assert visible_count(aws, "DigestQueue") == (0, 0) and _dead_letters(aws) == []


def test_a_rate_limited_post_is_retried_after_retry_after(functions, slack, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _two_days()
    slack.fail_next("chat.postMessage", retry_after=1)
    _enqueue(aws)

    [first] = SqsPump(TEMPLATE, aws, quiet=True).run_once()

    assert len(first.failed_ids) == 1
    assert slack.messages("C0ALERTS") == []
    # The job waits out Slack's Retry-After (1 s), not the queue's 180 s visibility timeout, and then posts.
    for _ in range(100):
        if visible_count(aws, "DigestQueue")[0] == 1:
            break
        time.sleep(0.1)
    assert visible_count(aws, "DigestQueue")[0] == 1
    SqsPump(TEMPLATE, aws, quiet=True).drain()
    assert len(slack.messages("C0ALERTS")) == 1


def test_revoked_tenant_is_skipped_with_a_reason(functions, slack, pump, aws, caplog):
    caplog.set_level(logging.INFO)
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _two_days()
    mark_installation("t_acme", InstallationStatus.REVOKED, "app_uninstalled", drop_tokens=True)
    _enqueue(aws)

    [batch] = pump.run_once()

    assert batch.failed_ids == ()  # not retried: retrying cannot help
    assert slack.calls_to("chat.postMessage") == []
    assert _logged_reasons(caplog, "digest skipped") == ["installation_revoked"]


def test_tenant_without_digest_routing_is_skipped_with_a_reason(functions, slack, pump, aws, caplog):
    caplog.set_level(logging.INFO)
    run_install(functions, slack)
    _two_days()
    _enqueue(aws)

    [batch] = pump.run_once()

    assert batch.failed_ids == ()
    assert slack.calls_to("chat.postMessage") == []
    assert _logged_reasons(caplog, "digest skipped") == ["no_digest_routing"]


def test_token_revoked_at_slack_marks_the_installation_and_stops(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS", "C0INCIDENTS"]})
    _two_days()
    installation = get_installation("t_acme")
    slack.revoke_token(tokens.decrypt_token("t_acme", installation.token_ciphertext))
    _enqueue(aws)

    [batch] = pump.run_once()

    assert batch.failed_ids == ()
    assert len(slack.calls_to("chat.postMessage")) == 1  # the second channel is not tried with a dead token
    stored = get_installation("t_acme")
    assert stored.status == InstallationStatus.REVOKED and stored.token_ciphertext is None
    assert digest_marker("t_acme", DAY, "C0ALERTS")["status"] == "undeliverable"


def test_archived_channel_is_recorded_and_skipped_afterwards(functions, slack, pump, aws, caplog):
    caplog.set_level(logging.INFO)
    _installed(functions, slack, {"digest_channels": ["C0OLD", "C0ALERTS"]})
    _two_days()
    _enqueue(aws)

    [batch] = pump.run_once()

    assert batch.failed_ids == ()
    assert len(slack.messages("C0ALERTS")) == 1
    health = load_tenant_config("t_acme").channel_health["C0OLD"]
    assert health.permanent and health.reason == "is_archived"

    _enqueue(aws, day=DAY + timedelta(days=1))
    pump.run_once()
    assert [c.channel for c in slack.calls_to("chat.postMessage")] == ["C0OLD", "C0ALERTS", "C0ALERTS"]
    assert _logged_reasons(caplog, "digest channel skipped") == ["channel_failing: is_archived"]


def test_quiet_day_still_gets_a_short_digest(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _enqueue(aws)

    pump.run_once()

    [message] = slack.messages("C0ALERTS")
    assert "Quiet day: no alerts yesterday, nor the day before." in _visible_text(message)
    assert message.text == "Alert digest for 2026-11-26: no alerts, all quiet"
    assert len(message.blocks) <= 4


def _put_counts(tenant: str, day: date, counters: dict[str, int]) -> None:
    # One put: an ADD of a thousand attributes would pass DynamoDB's 4 KB expression limit.
    from sre_slack.contracts.settings import get_settings
    from sre_slack.storage import keys
    from sre_slack.storage.table import to_item

    boto3.client("dynamodb").put_item(TableName=get_settings().table_name,
                                      Item=to_item({**keys.counts_key(tenant, day), **counters}))


def test_500_namespaces_give_a_valid_message_slack_accepts(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    for day, base in ((DAY - timedelta(days=1), 1), (DAY, 2)):
        counters = {"total": 0, "sev#warning": 0}
        for n in range(500):
            counters[f"ns#team-{n:03d}-<!channel>-namespace"] = base + n % 7
            counters[f"alert#Alert{n:03d}"] = base + n % 5
            counters["total"] += base + n % 7
        counters["sev#warning"] = counters["total"]
        _put_counts("t_acme", day, counters)
    _enqueue(aws)

    [batch] = pump.run_once()

    assert batch.failed_ids == ()
    [message] = slack.messages("C0ALERTS")
    assert validate_message(message.blocks, message.text) == []
    text = _visible_text(message)
    assert "others (492 namespaces)" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_a_rotating_token_is_refreshed_before_posting(functions, slack, pump, aws):
    slack.token_rotation = True
    slack.expires_in = 600  # inside the refresh window
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    before = get_installation("t_acme")
    _enqueue(aws)

    pump.run_once()

    assert len(slack.messages("C0ALERTS")) == 1
    after = get_installation("t_acme")
    assert after.token_version == before.token_version + 1
    assert tokens.decrypt_token("t_acme", after.token_ciphertext) in slack.tokens_for("T0LOCAL")


def _claimed(tenant: str, channel: str, *, lease_until: float) -> None:
    claim_digest(tenant, DAY, channel, lease_until=lease_until)


def test_a_post_in_progress_elsewhere_is_not_doubled(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _claimed("t_acme", "C0ALERTS", lease_until=time.time() + 30)
    _enqueue(aws)

    [batch] = pump.run_once()

    assert len(batch.failed_ids) == 1  # retried later, when the other invocation has finished or died
    assert slack.calls_to("chat.postMessage") == []


def test_a_claim_left_by_a_dead_invocation_is_taken_over_and_resent_labelled(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _two_days()
    _claimed("t_acme", "C0ALERTS", lease_until=time.time() - 60)
    _enqueue(aws)

    [batch] = pump.run_once()

    # The dead invocation may have posted before dying: posted again, saying so.
    assert batch.failed_ids == ()
    [message] = slack.messages("C0ALERTS")
    assert is_labelled_resend(message)
    marker = digest_marker("t_acme", DAY, "C0ALERTS")
    assert (marker["status"], marker["resend"], marker["attempts"]) == ("posted", True, 2)
    assert _dead_letters(aws) == []


def test_the_worker_reads_config_eight_days_and_the_resolved_in_three_requests(functions, slack, aws):
    install_example_tenant(slack, "t_acme", channel="C0ALERTS")
    for offset in range(10):
        record_alert("t_acme", DAY - timedelta(days=offset), severity="info", namespace="ns", alert="A",
                     cluster="c", times=offset + 1)
    calls: list[str] = []
    client = aws_client("dynamodb")
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    try:
        run, outcome = post_digest(DigestJob(tenant_id="t_acme", day=DAY), Deadline(time.monotonic() + 25))
    finally:
        client.meta.events.unregister("before-call.dynamodb")

    assert outcome.outcome == "done" and run.channels == {"C0ALERTS": "ok"}
    # config, eight days of counters, the report day's resolved investigations; the claim and `posted`
    assert calls == ["Query", "Query", "Query", "UpdateItem", "UpdateItem"]
    # Exactly the eight days of the window were read, whatever else is stored.
    assert run.digest is not None and run.digest.week.totals == (7, 6, 5, 4, 3, 2, 1)
    assert run.digest.week.week_over_week is not None and run.digest.week.week_over_week.previous == 8
    assert run.message is not None and json.dumps(run.message.as_kwargs())  # serialisable as posted
