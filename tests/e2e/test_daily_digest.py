"""The scheduled fan-out: one digest job per tenant with an active installation, for the day before the event."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import boto3
import pytest

from localdev.digest_cli import install_example_tenant
from localdev.sqs_pump import scheduled_invocation_event
from sre_slack.contracts.digest import DigestJob
from sre_slack.queues.sender import send_messages
from sre_slack.storage.installations import InstallationStatus, mark_installation
from tests.support import run_install


def _jobs(aws) -> list[dict]:
    """Every job on the digest queue (received and left invisible: the test only reads them)."""
    sqs = boto3.client("sqs")
    url = aws.queue_url("DigestQueue")
    jobs: list[dict] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return jobs
        jobs += [json.loads(m["Body"]) for m in messages]


def _fire(functions, aws, when: datetime) -> dict:
    return functions.invoke("DailyDigestFunction", scheduled_invocation_event(aws, "DailyDigestFunction", when))


def test_one_job_per_active_tenant_for_the_day_before(functions, aws, slack):
    for tenant, team in (("t_acme", "T0LOCAL"), ("t_globex", "T0GLOBEX"), ("t_gone", "T0GONE")):
        slack.add_team(team, f"{tenant} workspace")
        run_install(functions, slack, tenant=tenant, team_id=team)
    mark_installation("t_gone", InstallationStatus.REVOKED, "app_uninstalled", drop_tokens=True)

    answer = _fire(functions, aws, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))

    assert answer == {"day": "2026-11-26", "jobs": 2}
    jobs = _jobs(aws)
    assert sorted(jobs, key=lambda j: j["tenant_id"]) == [
        {"tenant_id": "t_acme", "day": "2026-11-26"},
        {"tenant_id": "t_globex", "day": "2026-11-26"},
    ]


@pytest.mark.parametrize(("fired", "reported"), [
    # A replay two days later still reports the day the event was scheduled for.
    ("2026-11-27T09:00:00Z", "2026-11-26"),
    # Delivered late, after midnight: the event time decides, not the clock.
    ("2026-12-01T00:00:05Z", "2026-11-30"),
    # Across a year boundary and a leap day.
    ("2027-01-01T09:00:00Z", "2026-12-31"),
    ("2028-03-01T09:00:00Z", "2028-02-29"),
])
def test_the_event_time_decides_the_day(functions, aws, slack, fired, reported):
    install_example_tenant(slack, "t_acme", channel="C0ALERTS")
    event = scheduled_invocation_event(aws, "DailyDigestFunction", datetime(2020, 1, 1, tzinfo=UTC))
    event["time"] = fired
    assert functions.invoke("DailyDigestFunction", event)["day"] == reported
    assert _jobs(aws) == [{"tenant_id": "t_acme", "day": reported}]


def test_many_tenants_are_sent_in_batches_with_no_tenant_missed_or_doubled(functions, aws, slack):
    tenants = {f"t_{n:03d}" for n in range(37)}
    for tenant in tenants:
        install_example_tenant(slack, tenant, channel="C0ALERTS")

    answer = _fire(functions, aws, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))

    jobs = _jobs(aws)
    assert answer["jobs"] == 37
    assert sorted(j["tenant_id"] for j in jobs) == sorted(tenants)
    assert {j["day"] for j in jobs} == {"2026-11-26"}


def test_no_active_tenant_enqueues_nothing(functions, aws, slack):
    assert _fire(functions, aws, datetime(2026, 11, 27, 9, 0, tzinfo=UTC)) == {"day": "2026-11-26", "jobs": 0}
    assert _jobs(aws) == []


def test_an_event_without_time_fails_instead_of_guessing_a_day(functions, aws, slack):
    install_example_tenant(slack, "t_acme", channel="C0ALERTS")
    event = scheduled_invocation_event(aws, "DailyDigestFunction", datetime(2026, 11, 27, 9, tzinfo=UTC))
    del event["time"]
    with pytest.raises(ValueError, match="time"):
        functions.invoke("DailyDigestFunction", event)
    assert _jobs(aws) == []


class _FlakySqs:
    """SQS answering SendMessageBatch with some entries refused, the way it reports throttling per entry."""

    def __init__(self, refuse: dict[str, list[bool]]) -> None:
        self.refuse = refuse  # tenant -> per attempt: refused, as a sender fault?
        self.bodies: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
        successful, failed = [], []
        for entry in Entries:
            tenant = json.loads(entry["MessageBody"])["tenant_id"]
            attempts = self.refuse.get(tenant, [])
            if attempts:
                sender_fault = attempts.pop(0)
                failed.append({"Id": entry["Id"], "SenderFault": sender_fault, "Code": "Refused"})
            else:
                self.bodies.append(entry["MessageBody"])
                successful.append({"Id": entry["Id"], "MessageId": entry["Id"]})
        return {"Successful": successful, "Failed": failed}


def test_entries_refused_for_a_passing_reason_are_sent_again_and_the_rest_reported():
    sqs = _FlakySqs({"t_throttled": [False], "t_bad": [True], "t_down": [False, False, False]})
    tenants = ["t_ok", "t_throttled", "t_bad", "t_down", "t_ok"]
    jobs = [(tenant, DigestJob(tenant_id=tenant, day=date(2026, 11, 26)).to_body()) for tenant in tenants]

    result = send_messages("queue", jobs, client=sqs)

    assert sorted(json.loads(b)["tenant_id"] for b in sqs.bodies) == ["t_ok", "t_throttled"]
    assert result.sent == 2
    assert result.failed == {"t_bad": "Refused", "t_down": "Refused"}


def test_a_redelivered_schedule_event_enqueues_the_jobs_once(functions, aws, slack):
    install_example_tenant(slack, "t_acme", channel="C0ALERTS")
    event = scheduled_invocation_event(aws, "DailyDigestFunction", datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    first = functions.invoke("DailyDigestFunction", event)
    again = functions.invoke("DailyDigestFunction", event)
    assert first == again == {"day": "2026-11-26", "jobs": 1}
    assert _jobs(aws) == [{"tenant_id": "t_acme", "day": "2026-11-26"}]

    # Another event (a manual replay for the same day) is new work; the worker's markers dedupe its posts.
    replay = scheduled_invocation_event(aws, "DailyDigestFunction", datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert replay["id"] != event["id"]
    assert functions.invoke("DailyDigestFunction", replay) == {"day": "2026-11-26", "jobs": 1}
