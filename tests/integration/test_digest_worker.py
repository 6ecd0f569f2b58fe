"""The digest worker end to end: jobs on the digest queue, the real handler (via the local SQS pump), counters in
moto, and the message as the Slack stand-in received it."""

from __future__ import annotations

import json
import logging
import time
from datetime import date, timedelta

import boto3
import pytest

from localdev.digest_cli import install_example_tenant, record_alert
from localdev.sqs_pump import SqsPump
from sre_slack.blocks.limits import validate_message
from sre_slack.services.digest_fanout import DigestJob
from sre_slack.slack import token_cipher as crypto
from sre_slack.storage import digest_markers as markers
from sre_slack.storage.installations import InstallationStatus, get_installation, mark_installation
from sre_slack.storage.tenant_config import load_tenant_config, put_routing
from tests.fixtures import TEMPLATE
from tests.posting import queue_messages, redrive, visible_count
from tests.support import run_install

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
        assert "9 alerts" in text and "+6 (+200%) vs 3 the day before" in text
        assert "payments" in text and "+4 (+133%)" in text  # 3 -> 7 memory alerts in payments
        assert "NodeDiskPressure" in text and "new" in text
        assert "ContainerMemoryNearLimit" in text and "3 → 7" in text
        assert message.text == "Alert digest for 2026-11-26: 9 alerts (▲ +6 vs previous day)"
        stored = markers.get_marker("t_acme", DAY, channel)
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

    results = pump.drain()

    assert all(r.failed_ids == () for r in results)
    assert len(slack.messages("C0ALERTS")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1
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
    assert markers.get_marker("t_acme", DAY, "C0INCIDENTS")["status"] == "failed_retryable"

    [second] = pump.run_once()

    assert second.failed_ids == ()
    assert len(slack.messages("C0ALERTS")) == 1  # not posted again
    assert len(slack.messages("C0INCIDENTS")) == 1
    assert markers.get_marker("t_acme", DAY, "C0INCIDENTS")["status"] == "posted"
    assert _dead_letters(aws) == []


def test_an_internal_error_is_not_reposted_and_the_job_lands_in_the_dead_letter_queue(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS", "C0INCIDENTS"]})
    _two_days()
    # A 500 internal_error: Slack may have posted the digest anyway.
    slack.fail_next("chat.postMessage", status=500, channel="C0INCIDENTS")
    [source_id] = _enqueue(aws)

    [first] = pump.run_once()

    assert first.failed_ids == ()
    assert visible_count(aws, "DigestQueue") == (0, 0)
    assert len(slack.messages("C0ALERTS")) == 1
    assert slack.messages("C0INCIDENTS") == []
    marker = markers.get_marker("t_acme", DAY, "C0INCIDENTS")
    assert marker["status"] == "unknown" and "internal_error" in marker["reason"]
    health = load_tenant_config("t_acme").channel_health["C0INCIDENTS"]
    assert health.status == "delivery_unknown" and not health.permanent
    assert _dead_letters(aws) == [({"tenant_id": "t_acme", "day": DAY.isoformat()},
                                   {"reason": "delivery_unknown: internal_error on C0INCIDENTS",
                                    "source_message_id": source_id, "unknown_channels": "C0INCIDENTS"})]

    _enqueue(aws)  # the schedule's job delivered again: still no second attempt
    pump.drain()
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(_dead_letters(aws)) == 1


def test_redrive_posts_the_digest_once_more_to_the_unknown_channel_only(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS", "C0INCIDENTS"]})
    _two_days()
    slack.fail_next("chat.postMessage", error="internal_error", status=500, channel="C0INCIDENTS")
    _enqueue(aws)
    pump.run_once()

    # The operator looked at #c0incidents, found no digest, and redrove the copy.
    assert redrive(aws, DLQ, "DigestQueue") == 1
    [batch] = pump.run_once()

    assert batch.failed_ids == ()
    assert [len(slack.messages(c)) for c in ("C0ALERTS", "C0INCIDENTS")] == [1, 1]
    assert [c.channel for c in slack.calls_to("chat.postMessage")] == ["C0ALERTS", "C0INCIDENTS", "C0INCIDENTS"]
    assert markers.get_marker("t_acme", DAY, "C0INCIDENTS")["status"] == "posted"
    assert _dead_letters(aws) == [] and visible_count(aws, "DigestQueue") == (0, 0)


def test_redriving_twice_posts_the_digest_only_once(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _two_days()
    slack.fail_next("chat.postMessage", error="fatal_error", status=500)
    _enqueue(aws)
    pump.run_once()

    redrive(aws, DLQ, "DigestQueue", copies=2)
    results = pump.drain()

    assert all(r.failed_ids == () for r in results)
    assert len(slack.messages("C0ALERTS")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2  # the ambiguous one, and one redrive
    assert _dead_letters(aws) == []


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
    slack.revoke_token(crypto.decrypt_token("t_acme", installation.token_ciphertext))
    _enqueue(aws)

    [batch] = pump.run_once()

    assert batch.failed_ids == ()
    assert len(slack.calls_to("chat.postMessage")) == 1  # the second channel is not tried with a dead token
    stored = get_installation("t_acme")
    assert stored.status == InstallationStatus.REVOKED and stored.token_ciphertext is None
    assert markers.get_marker("t_acme", DAY, "C0ALERTS")["status"] == "failed_permanent"


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
    assert "all quiet" in _visible_text(message)
    assert message.text == "Alert digest for 2026-11-26: no alerts, all quiet"
    assert len(message.blocks) <= 4


def _put_counts(tenant: str, day: date, counters: dict[str, int]) -> None:
    # One put: an ADD of a thousand attributes would pass DynamoDB's 4 KB expression limit.
    from sre_slack.contracts.settings import get_settings
    from sre_slack.storage import keys
    from sre_slack.storage.items import to_item

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
    assert crypto.decrypt_token("t_acme", after.token_ciphertext) in slack.tokens_for("T0LOCAL")


def _claimed(tenant: str, channel: str, seconds_ago: int) -> None:
    assert markers.claim(tenant, DAY, channel, now=time.time() - seconds_ago).claimed


def test_a_post_in_progress_elsewhere_is_not_doubled(functions, slack, pump, aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _claimed("t_acme", "C0ALERTS", seconds_ago=5)
    _enqueue(aws)

    [batch] = pump.run_once()

    assert len(batch.failed_ids) == 1  # retried later, when the other invocation has finished or died
    assert slack.calls_to("chat.postMessage") == []


def test_a_claim_left_by_a_dead_invocation_is_unknown_and_lands_in_the_dead_letter_queue(functions, slack, pump,
                                                                                          aws):
    _installed(functions, slack, {"digest_channels": ["C0ALERTS"]})
    _claimed("t_acme", "C0ALERTS", seconds_ago=markers.STALE_CLAIM_SECONDS + 60)
    [source_id] = _enqueue(aws)

    [batch] = pump.run_once()

    # The dead invocation may have posted before dying: not taken over, not posted again.
    assert batch.failed_ids == ()
    assert slack.calls_to("chat.postMessage") == []
    assert visible_count(aws, "DigestQueue") == (0, 0)
    marker = markers.get_marker("t_acme", DAY, "C0ALERTS")
    assert marker["status"] == "unknown" and "stale_claim" in marker["reason"]
    health = load_tenant_config("t_acme").channel_health["C0ALERTS"]
    assert health.status == "delivery_unknown" and not health.permanent
    assert [attributes for _, attributes in _dead_letters(aws)] == [
        {"reason": "delivery_unknown: stale_claim on C0ALERTS", "source_message_id": source_id,
         "unknown_channels": "C0ALERTS"}]

    # The operator checked the channel: no digest. The redrive posts it, once.
    redrive(aws, DLQ, "DigestQueue")
    pump.drain()
    assert len(slack.messages("C0ALERTS")) == 1
    assert markers.get_marker("t_acme", DAY, "C0ALERTS")["attempts"] == 2


def test_the_worker_reads_config_and_eight_days_in_two_requests(functions, slack, aws):
    from sre_slack.aws import dynamodb

    install_example_tenant(slack, "t_acme", channel="C0ALERTS")
    for offset in range(10):
        record_alert("t_acme", DAY - timedelta(days=offset), severity="info", namespace="ns", alert="A",
                     cluster="c", times=offset + 1)
    calls: list[str] = []
    client = dynamodb()
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    try:
        from sre_slack.services.digest import run_job

        outcome = run_job(DigestJob(tenant_id="t_acme", day=DAY))
    finally:
        client.meta.events.unregister("before-call.dynamodb")

    assert [c.status for c in outcome.channels] == ["posted"]
    assert calls == ["Query", "Query", "UpdateItem", "UpdateItem"]
    # Exactly the eight days of the window were read, whatever else is stored.
    assert outcome.digest is not None and outcome.digest.week.totals == (7, 6, 5, 4, 3, 2, 1)
    assert outcome.digest.week.week_over_week is not None and outcome.digest.week.week_over_week.previous == 8
    assert json.dumps(outcome.message.as_kwargs()["blocks"])  # serialisable as posted
