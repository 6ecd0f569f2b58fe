"""Alert storms and the conversation in an alert's thread, as a reader of the channel sees them (CONTRACT.md
"Alert grouping (storms)"): through the real handler, the SQS pump, moto and the Slack stand-in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sre_slack.slack.pacing import channel_pacer
from sre_slack.storage import groups, keys
from sre_slack.storage.tenant_config import put_routing
from tests.posting import TENANT, delivery, example, item, pump, send, setup_tenant

START = datetime(2026, 11, 27, 8, 12, tzinfo=UTC)
ROUTE = {"cluster": "production-us-east", "channels": ["C0PROD"]}


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """Slack's pace and the count line's debounce are about wall time; the tests are about what ends in the
    channel. A faster pacer and no debounce keep them short (the debounce itself: bench/storm.py)."""
    monkeypatch.setattr(channel_pacer(), "rate", 1000.0)
    monkeypatch.setattr(channel_pacer(), "burst", 1000)
    monkeypatch.setattr(groups, "COUNT_REFRESH_SECONDS", 0)


def alert(i: int, *, seconds: int = 0, **changes: Any) -> dict[str, Any]:
    message = example(investigation_id=f"inv_storm_{i:03d}",
                      portal_url=f"https://portal.example.com/investigations/inv_storm_{i:03d}")
    message["alert"] = message["alert"] | {"fired_at": (START + timedelta(seconds=seconds)).isoformat(),
                                           "summary": f"Pod payments/api-{i} is restarting"} | changes
    return message


def run(aws, *messages: dict[str, Any]) -> None:
    """Send, and process until nothing is left; what a record asks to come back for comes back at once."""
    send(aws, *messages)
    pump(aws, failed_visibility_timeout=0).drain(timeout=120)


def where_is(slack, investigation_id: str, channel: str = "C0PROD") -> str:
    """'top' or 'thread': where a reader finds the investigation's message (asserting it is there once)."""
    row = delivery(investigation_id, channel)
    assert row is not None and row["status"] == "posted", (investigation_id, row)
    message = slack.message(channel, row["ts"])
    assert message is not None and f"api-{int(investigation_id[-3:])} is restarting" in json.dumps(message.blocks)
    if message.thread_ts is None:
        return "top"
    assert message.thread_ts == row["thread_ts"]
    return "thread"


def count_line(message) -> str | None:
    for block in message.blocks:
        if block.get("block_id") == "storm_count":
            return block["elements"][0]["text"]
    return None


def test_a_storm_of_60_alerts_is_one_message_with_the_rest_in_its_thread(functions, slack, aws):
    setup_tenant(functions, slack)
    storm = [alert(i, seconds=i * 5) for i in range(60)]  # 08:12:00 .. 08:16:55
    for start in range(0, 60, 10):
        run(aws, *storm[start:start + 10])

    top = slack.top_level("C0PROD")
    assert 1 <= len(top) <= 2
    places = {m["investigation_id"]: where_is(slack, m["investigation_id"]) for m in storm}
    assert list(places.values()).count("top") == len(top)
    [first] = top
    replies = slack.replies("C0PROD", first.ts)
    assert len(replies) == 59
    assert count_line(slack.message("C0PROD", first.ts)) == "🧵 +59 similar in thread · latest 08:16"
    # A reply is compact but keeps its own portal link and the feedback buttons.
    reply = json.dumps(replies[0].blocks)
    assert "Recommended actions" not in reply and "Accurate" in reply and "/investigations/inv_storm_" in reply
    # Every investigation still counts once.
    counts = item({"pk": keys.counts_pk(TENANT), "sk": "DAY#2026-11-27"})
    assert counts["total"] == 60 and counts["alert#KubePodCrashLooping"] == 60


def test_other_alert_names_and_a_later_window_stay_apart(functions, slack, aws):
    setup_tenant(functions, slack)
    run(aws, alert(1), alert(2, seconds=30), alert(3, seconds=60, name="KubeNodeNotReady"),
        alert(4, seconds=15 * 60))

    # Whichever of 1 and 2 came first in the batch is the first; the other is in its thread.
    assert sorted([where_is(slack, "inv_storm_001"), where_is(slack, "inv_storm_002")]) == ["thread", "top"]
    assert where_is(slack, "inv_storm_003") == "top"
    assert where_is(slack, "inv_storm_004") == "top"
    assert len(slack.top_level("C0PROD")) == 3


def test_a_storm_crossing_a_window_boundary_stays_one_thread(functions, slack, aws):
    setup_tenant(functions, slack)
    # 08:18:00 .. 08:22:45: the aligned windows change at 08:20, the storm does not.
    storm = [alert(i, seconds=6 * 60 + i * 15) for i in range(20)]
    run(aws, storm[0])  # the first (in one batch, whichever record claims the group first is)
    for start in range(1, 20, 5):
        run(aws, *storm[start:start + 5])
    [first] = slack.top_level("C0PROD")
    assert len(slack.replies("C0PROD", first.ts)) == 19
    # Beyond the window of the storm's first (08:18 + 10 min) a new one starts.
    run(aws, alert(99, seconds=16 * 60 + 30))
    assert where_is(slack, "inv_storm_099") == "top"


def test_the_window_comes_from_the_routing(functions, slack, aws):
    setup_tenant(functions, slack, routing={"routes": [ROUTE], "grouping": {"window_minutes": 60}})
    run(aws, alert(1))
    run(aws, alert(2, seconds=15 * 60))
    assert where_is(slack, "inv_storm_002") == "thread"


@pytest.mark.parametrize("routing", [{"routes": [ROUTE], "grouping": False},
                                     {"routes": [ROUTE | {"grouping": False}]}])
def test_grouping_off_posts_every_alert_alone(functions, slack, aws, routing):
    setup_tenant(functions, slack, routing=routing)
    run(aws, *[alert(i, seconds=i) for i in range(5)])

    assert len(slack.top_level("C0PROD")) == 5
    assert all(where_is(slack, f"inv_storm_{i:03d}") == "top" for i in range(5))


def test_a_critical_alert_breaks_out_of_a_warning_storm(functions, slack, aws):
    setup_tenant(functions, slack)
    run(aws, alert(1, severity="warning"))
    run(aws, alert(2, seconds=10, severity="warning"), alert(3, seconds=20, severity="critical"))
    run(aws, alert(4, seconds=30, severity="critical"), alert(5, seconds=40, severity="warning"))

    assert where_is(slack, "inv_storm_001") == "top"
    assert where_is(slack, "inv_storm_002") == "thread"
    assert where_is(slack, "inv_storm_003") == "top"  # not hidden in the warnings' thread
    assert where_is(slack, "inv_storm_005") == "thread"
    # Later criticals of the same storm thread under the first critical, not under the warnings.
    assert delivery("inv_storm_004", "C0PROD")["thread_ts"] == delivery("inv_storm_003", "C0PROD")["ts"]
    assert delivery("inv_storm_005", "C0PROD")["thread_ts"] == delivery("inv_storm_001", "C0PROD")["ts"]


def test_a_redelivered_or_concurrent_member_makes_no_second_reply(functions, slack, aws):
    setup_tenant(functions, slack)
    run(aws, alert(1))
    # The same member three times in one batch (concurrent records), then once more later (a redelivery).
    run(aws, alert(2, seconds=5), alert(2, seconds=5), alert(2, seconds=5))
    run(aws, alert(2, seconds=5))

    first = delivery("inv_storm_001", "C0PROD")["ts"]
    assert [r.ts for r in slack.replies("C0PROD", first)] == [delivery("inv_storm_002", "C0PROD")["ts"]]
    assert count_line(slack.message("C0PROD", first)) == "🧵 +1 similar in thread · latest 08:12"
    counts = item({"pk": keys.counts_pk(TENANT), "sk": "DAY#2026-11-27"})
    assert counts["total"] == 2


def test_members_arriving_with_their_first_wait_for_its_message(functions, slack, aws):
    setup_tenant(functions, slack)
    # The whole storm in one batch: the members run at the same moment as the first, and must not start a thread
    # of their own.
    run(aws, *[alert(i, seconds=i) for i in range(10)])

    assert len(slack.top_level("C0PROD")) == 1
    [first] = slack.top_level("C0PROD")
    assert len(slack.replies("C0PROD", first.ts)) == 9


def test_reinvestigation_and_resolve_of_a_member_update_its_reply_and_say_so_in_the_thread(functions, slack, aws):
    setup_tenant(functions, slack)
    run(aws, alert(1))
    run(aws, alert(2, seconds=5))
    first_ts = delivery("inv_storm_001", "C0PROD")["ts"]
    reply_ts = delivery("inv_storm_002", "C0PROD")["ts"]

    revised = alert(2, seconds=5) | {"root_cause": "A bad ConfigMap <!here> after all.",
                                     "completed_at": "2026-11-27T08:30:00Z"}
    run(aws, revised)
    run(aws, {"version": "1", "type": "alert.resolved", "investigation_id": "inv_storm_002", "tenant_id": TENANT,
              "resolved_at": "2026-11-27T08:47:05Z"})
    run(aws, revised)  # a redelivery says nothing more

    thread = slack.replies("C0PROD", first_ts)
    assert thread[0].ts == reply_ts
    notes = [m.text for m in thread[1:]]
    assert notes == ["Root cause revised: A bad ConfigMap &lt;!here&gt; after all.", "✅ Resolved after 35 min"]
    reply = slack.message("C0PROD", reply_ts)
    assert reply.text.startswith("✅ Resolved") and "Updated " in json.dumps(reply.blocks)
    assert count_line(slack.message("C0PROD", first_ts)) == "🧵 +1 similar in thread · latest 08:12 · 1 resolved"
    counts = item({"pk": keys.counts_pk(TENANT), "sk": "DAY#2026-11-27"})
    assert counts["total"] == 2


def test_a_resolved_standalone_alert_says_after_how_long_in_its_thread(functions, slack, aws):
    setup_tenant(functions, slack)
    put_routing(TENANT, {"routes": [ROUTE], "grouping": False})
    run(aws, alert(1))
    resolved = {"version": "1", "type": "alert.resolved", "investigation_id": "inv_storm_001", "tenant_id": TENANT,
                "resolved_at": "2026-11-27T08:47:00Z"}
    run(aws, resolved)
    run(aws, resolved)

    [message] = slack.top_level("C0PROD")
    assert [m.text for m in slack.replies("C0PROD", message.ts)] == ["✅ Resolved after 35 min"]
    assert "after 35 min" in json.dumps(message.blocks)


def test_alert_links_are_on_the_message(functions, slack, aws):
    setup_tenant(functions, slack)
    run(aws, alert(1, source_url="https://grafana.example.com/alerting/grafana/abc/view",
                   runbook_url="https://runbooks.example.com/KubePodCrashLooping"))
    [message] = slack.top_level("C0PROD")
    shown = json.dumps(message.blocks)
    assert "<https://grafana.example.com/alerting/grafana/abc/view|Alert source>" in shown
    assert "<https://runbooks.example.com/KubePodCrashLooping|Runbook>" in shown
