"""Two days of real investigations through post_investigation, then the 09:00 schedule, fan-out and worker:
the digest's numbers are the ones the investigation engine sent."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from localdev.sqs_pump import SqsPump, scheduled_invocation_event
from sre_slack.storage.tenant_config import put_routing
from tests.fixtures import TEMPLATE
from tests.support import run_install

EXAMPLE = json.loads((Path(__file__).parents[2] / "events" / "investigation_completed.json").read_text())


def _investigation(n: int, *, fired_at: str, alert: str, severity: str, namespace: str | None, cluster: str,
                   test: bool = False) -> dict[str, Any]:
    message = copy.deepcopy(EXAMPLE)
    message["investigation_id"] = f"inv_{n:04d}"
    message["cluster"] = cluster
    message["test"] = test
    message["alert"] |= {"name": alert, "severity": severity, "fired_at": fired_at}
    if namespace is None:
        message["alert"].pop("namespace", None)
    else:
        message["alert"]["namespace"] = namespace
    return message


def _send(aws, logical_id: str, bodies: list[str]) -> None:
    sqs = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=aws.queue_url(logical_id), MessageBody=body)


def _visible_text(message) -> str:
    return "\n".join(b["text"]["text"] for b in message.blocks if "text" in b) + "\n" + "\n".join(
        e.get("text", "") for b in message.blocks for e in b.get("elements", []) if isinstance(e, dict))


def test_two_days_of_investigations_then_the_digest_shows_their_numbers(functions, slack, aws):
    run_install(functions, slack)
    # Every alert alone (grouping off): this test reads the channel's 13 messages; storms count the same
    # (tests/e2e/test_alert_storms.py).
    put_routing("t_acme", {"default_channels": ["C0ALERTS"], "digest_channels": ["C0INCIDENTS"], "routes": [],
                           "grouping": False})
    messages: list[dict[str, Any]] = []
    n = 0
    for day, memory in (("2026-11-25", 3), ("2026-11-26", 7)):
        for _ in range(memory):
            n += 1
            messages.append(_investigation(n, fired_at=f"{day}T08:{n:02d}:00Z", alert="ContainerMemoryNearLimit",
                                           severity="warning", namespace="payments", cluster="production-us-east"))
    for _ in range(2):
        n += 1
        messages.append(_investigation(n, fired_at="2026-11-26T23:59:00Z", alert="NodeDiskPressure",
                                       severity="critical", namespace=None, cluster="staging-eu"))
    # Neither a test investigation nor a re-investigation of an alert already counted adds to the counts.
    messages.append(_investigation(900, fired_at="2026-11-26T10:00:00Z", alert="TestAlert", severity="info",
                                   namespace="payments", cluster="production-us-east", test=True))
    messages.append(messages[0] | {"root_cause": "Re-investigated: the limit was lowered twice."})
    pump = SqsPump(TEMPLATE, aws, quiet=True)
    _send(aws, "InvestigationQueue", [json.dumps(m) for m in messages])
    pump.drain()
    assert len(slack.top_level("C0ALERTS")) == 13  # (and the re-investigation's note in its thread)

    # 09:00 the next morning, delivered twice.
    event = scheduled_invocation_event(aws, "DailyDigestFunction", datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    assert functions.invoke("DailyDigestFunction", event) == {"day": "2026-11-26", "jobs": 1}
    functions.invoke("DailyDigestFunction", event)
    pump.drain()

    [digest] = slack.messages("C0INCIDENTS")
    text = _visible_text(digest)
    assert digest.text == "Alert digest for 2026-11-26: 9 alerts (▲ +6 vs previous day)"
    assert "▲ +6 vs 3 the day before" in text  # a base of 3: no percentage
    assert "critical  2  🆕 +2" in text
    assert "warning   7  ▲ 3 → 7" in text
    assert "payments" in text and "(no namespace)" in text
    assert "`NodeDiskPressure` new: 2 alerts" in text
    assert "`ContainerMemoryNearLimit` 3 → 7 (+4)" in text
    assert "By cluster" in text and "staging-eu" in text
    assert "TestAlert" not in text


def _resolved(investigation_id: str, resolved_at: str) -> dict[str, Any]:
    return {"version": "1", "type": "alert.resolved", "investigation_id": investigation_id, "tenant_id": "t_acme",
            "resolved_at": resolved_at}


def test_the_digest_shows_top_alerts_storms_clusters_and_time_to_resolve(functions, slack, aws):
    run_install(functions, slack)
    put_routing("t_acme", {"default_channels": ["C0ALERTS"], "digest_channels": ["C0INCIDENTS"], "routes": []})
    messages: list[dict[str, Any]] = []
    # The report day: a crash-loop storm of 6 in payments on production-us-east, 2 more elsewhere (not the same
    # signature), 3 memory alerts, one disk alert in staging; the day before 2 crash loops.
    plan = [("2026-11-26", "KubePodCrashLooping", "critical", "payments", "production-us-east", 6),
            ("2026-11-26", "KubePodCrashLooping", "critical", "checkout", "production-us-east", 2),
            ("2026-11-26", "ContainerMemoryNearLimit", "warning", "payments", "production-us-east", 3),
            ("2026-11-26", "NodeDiskPressure", "warning", None, "staging-eu", 1),
            ("2026-11-25", "KubePodCrashLooping", "critical", "payments", "production-us-east", 2)]
    n = 0
    for day, alert, severity, namespace, cluster, times in plan:
        for _ in range(times):
            n += 1
            messages.append(_investigation(n, fired_at=f"{day}T08:{n:02d}:00Z", alert=alert, severity=severity,
                                           namespace=namespace, cluster=cluster))
    messages.append(messages[0] | {"root_cause": "Re-investigated."})  # counted once, storm stays at 6
    pump = SqsPump(TEMPLATE, aws, quiet=True)
    _send(aws, "InvestigationQueue", [json.dumps(m) for m in messages])
    pump.drain()
    # Resolved on the report day: fired 08:01 -> 08:11 (10 min), 08:02 -> 08:32 (30 min), 08:03 -> 10:03 (2 h);
    # the first resolve delivered twice; one fired the day before, resolved on the report day (24 h 10 min).
    resolves = [_resolved("inv_0001", "2026-11-26T08:11:00Z"), _resolved("inv_0001", "2026-11-26T08:11:00Z"),
                _resolved("inv_0002", "2026-11-26T08:32:00Z"), _resolved("inv_0003", "2026-11-26T10:03:00Z"),
                _resolved("inv_0013", "2026-11-26T08:23:00Z"),
                _resolved("inv_0004", "2026-11-27T01:00:00Z")]  # the next day: not in this digest
    _send(aws, "InvestigationQueue", [json.dumps(m) for m in resolves])
    pump.drain()

    event = scheduled_invocation_event(aws, "DailyDigestFunction", datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    functions.invoke("DailyDigestFunction", event)
    pump.drain()

    [digest] = slack.messages("C0INCIDENTS")
    text = _visible_text(digest)
    assert digest.text == "Alert digest for 2026-11-26: 12 alerts (▲ +10 vs previous day)"
    assert "*12 alerts* ▲ +10 vs 2 the day before" in text  # a base of 2: no percentage
    assert "%" not in text.split("Accuracy")[0]
    headings = [line.split("*")[1] for line in text.split("\n") if line.startswith("*")]
    assert headings == ["12 alerts", "By namespace", "By cluster", "Top alerts", "Storms", "What changed",
                        "Time to resolve", "Last 7 days"]
    assert "production-us-east  11  ▲ 2 → 11" in text
    assert "KubePodCrashLooping       8  ▲ 2 → 8" in text
    assert "ContainerMemoryNearLimit  3  🆕 +3" in text
    assert "🌀 `KubePodCrashLooping` · `payments` · `production-us-east` — 6 alerts" in text
    assert text.count("🌀") == 1  # 2 in checkout and 3 memory alerts are not storms
    # 10 min, 30 min, 2 h, 24 h 10 min (shown in two units at most): the resolve redelivered counts once
    assert "*Time to resolve* 4 resolved: median 1 h 15 min, longest 1 d (`KubePodCrashLooping`)" in text
