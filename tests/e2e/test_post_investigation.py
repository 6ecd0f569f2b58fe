"""Posting investigations: the message arrives once per routed channel, stays alive (re-investigation,
resolve), and the alert is counted once for the digest."""

from __future__ import annotations

from sre_slack.domain.ratings import RATING_LABELS
from sre_slack.storage import keys
from tests.posting import (
    TENANT,
    deliver,
    delivery,
    example,
    item,
    pump,
    send,
    setup_tenant,
)


def _button_labels(message) -> list[str]:
    return [element["text"]["text"] for block in message.blocks if block["type"] == "actions"
            for element in block["elements"] if element.get("action_id", "").startswith("feedback_")]


def test_completed_investigation_is_posted_once_with_its_content(functions, slack, aws):
    setup_tenant(functions, slack)
    results = deliver(aws, example())

    assert [r.failed_ids for r in results] == [()]
    [message] = slack.messages("C0PROD")
    assert "KubePodCrashLooping" in message.text
    rendered = str(message.blocks)
    assert "OOMKilled" in rendered and "kubectl rollout undo deployment/api -n payments" in rendered
    assert _button_labels(message) == list(RATING_LABELS.values())
    record = delivery("inv_01JD4X8Y2Z", "C0PROD")
    assert record["status"] == "posted" and record["ts"] == message.ts
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_redelivered_message_posts_nothing_and_counts_nothing_more(functions, slack, aws):
    setup_tenant(functions, slack)
    deliver(aws, example())
    deliver(aws, example())
    deliver(aws, example())

    assert len(slack.messages("C0PROD")) == 1
    assert slack.calls_to("chat.postMessage").__len__() == 1
    assert slack.calls_to("chat.update") == []
    counts = item({"pk": keys.counts_pk(TENANT), "sk": "DAY#2026-11-27"})
    assert counts["total"] == 1
    assert counts["sev#critical"] == 1 and counts["ns#payments"] == 1
    assert counts["alert#KubePodCrashLooping"] == 1 and counts["cluster#production-us-east"] == 1


def test_alert_counted_on_the_utc_day_it_fired(functions, slack, aws):
    setup_tenant(functions, slack)
    message = example(investigation_id="inv_late")
    message["alert"]["fired_at"] = "2026-11-27T23:30:00-05:00"  # 04:30 UTC the next day
    message["alert"]["namespace"] = None
    deliver(aws, message)

    assert item({"pk": keys.counts_pk(TENANT), "sk": "DAY#2026-11-27"}) is None
    counts = item({"pk": keys.counts_pk(TENANT), "sk": "DAY#2026-11-28"})
    assert counts["total"] == 1
    assert not any(name.startswith("ns#") for name in counts)


def test_test_investigation_is_marked_and_not_counted(functions, slack, aws):
    setup_tenant(functions, slack)
    deliver(aws, example(investigation_id="test_0001", test=True))

    [message] = slack.messages("C0PROD")
    assert "TEST" in message.text
    assert "test" in str(message.blocks[:3]).lower()
    assert item({"pk": keys.counts_pk(TENANT), "sk": "DAY#2026-11-27"}) is None


def test_every_routed_channel_gets_its_own_message(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}, "C0LEADS": {}, "C0SRE": {"is_private": True, "bot_member": True}})
    deliver(aws, example())

    for channel in ("C0PROD", "C0LEADS", "C0SRE"):
        [message] = slack.messages(channel)
        assert delivery("inv_01JD4X8Y2Z", channel)["ts"] == message.ts


def test_sixty_resources_forty_actions_are_accepted_by_slack(functions, slack, aws):
    setup_tenant(functions, slack)
    message = example(investigation_id="inv_big")
    message["affected_resources"] = [
        {"kind": "Pod", "namespace": "payments", "name": f"api-{i:03d}-" + "x" * 250, "status": "CrashLoopBackOff"}
        for i in range(60)
    ]
    message["recommended_actions"] = [
        {"title": f"Step {i} " + "t" * 280, "command": f"kubectl delete pod api-{i:03d} -n payments " + "-o yaml " * 60}
        for i in range(40)
    ]
    message["root_cause"] = "Because " * 2000
    deliver(aws, message)

    [posted] = slack.messages("C0PROD")
    assert "more" in str(posted.blocks)
    assert delivery("inv_big", "C0PROD")["status"] == "posted"
    assert [c.error for c in slack.calls_to("chat.postMessage")] == [None]


def test_reinvestigation_updates_the_message_in_place(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}, "C0LEADS": {}})
    deliver(aws, example())
    first = {c: slack.messages(c)[0].ts for c in ("C0PROD", "C0LEADS")}

    deliver(aws, example(root_cause="A bad ConfigMap; the memory limit was fine after all."))

    for channel in ("C0PROD", "C0LEADS"):
        [message] = slack.top_level(channel)
        assert message.ts == first[channel]
        assert "bad ConfigMap" in str(message.blocks)
        assert "Updated " in str(message.blocks)
        # ... and its thread says what changed, once.
        [note] = slack.replies(channel, message.ts)
        assert note.text.startswith("Root cause revised: A bad ConfigMap")
    assert len(slack.calls_to("chat.postMessage")) == 4
    assert len(slack.calls_to("chat.update")) == 2
    counts = item({"pk": keys.counts_pk(TENANT), "sk": "DAY#2026-11-27"})
    assert counts["total"] == 1


def test_stale_redelivery_does_not_roll_back_a_reinvestigation(functions, slack, aws):
    setup_tenant(functions, slack)
    deliver(aws, example())
    deliver(aws, example(root_cause="Second opinion: a bad ConfigMap."))
    deliver(aws, example())  # the first version, redelivered late

    [message] = slack.top_level("C0PROD")
    assert "Second opinion" in str(message.blocks)
    assert len(slack.calls_to("chat.update")) == 1


def _version(root_cause: str, completed_at: str) -> dict:
    return example(root_cause=root_cause, completed_at=completed_at)


def test_the_reinvestigation_completed_last_wins_whatever_the_arrival_order(functions, slack, aws):
    setup_tenant(functions, slack)
    first = _version("First look: the memory limit.", "2026-11-27T08:14:00Z")
    second = _version("Revised: a bad ConfigMap.", "2026-11-27T08:31:00Z")
    deliver(aws, second)  # the re-investigation arrives first
    deliver(aws, first)   # the original, late

    [message] = slack.messages("C0PROD")
    assert "Revised: a bad ConfigMap." in str(message.blocks) and "First look" not in str(message.blocks)
    assert len(slack.calls_to("chat.update")) == 0  # the late original changed nothing


def test_an_original_and_its_reinvestigation_in_one_batch_end_showing_the_reinvestigation(functions, slack, aws):
    setup_tenant(functions, slack)
    for _ in range(3):  # whichever record of the batch wins the first sighting, the end is the same
        first = _version("First look: the memory limit.", "2026-11-27T08:14:00Z")
        second = _version("Revised: a bad ConfigMap.", "2026-11-27T08:31:00Z")
        send(aws, first, second)
        pump(aws, failed_visibility_timeout=0).drain()
    [message] = slack.top_level("C0PROD")
    assert "Revised: a bad ConfigMap." in str(message.blocks)


def test_resolve_marks_every_message_resolved_and_keeps_the_buttons(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}, "C0LEADS": {}})
    deliver(aws, example())
    deliver(aws, example("alert_resolved"))

    for channel in ("C0PROD", "C0LEADS"):
        [message] = slack.top_level(channel)
        assert message.text.startswith("✅ Resolved")
        assert "Resolved at" in str(message.blocks)
        assert _button_labels(message) == list(RATING_LABELS.values())
    stored = item(keys.seen_key(TENANT, "inv_01JD4X8Y2Z"))
    assert stored["resolved_at"].startswith("2026-11-27T08:47:30")

    deliver(aws, example("alert_resolved"))  # redelivered: nothing to change
    assert len(slack.calls_to("chat.update")) == 2


def test_reinvestigation_after_resolve_stays_resolved(functions, slack, aws):
    setup_tenant(functions, slack)
    deliver(aws, example())
    deliver(aws, example("alert_resolved"))
    deliver(aws, example(root_cause="Post-mortem: a bad ConfigMap."))

    [message] = slack.top_level("C0PROD")
    assert message.text.startswith("✅ Resolved") and "Post-mortem" in str(message.blocks)


def test_resolve_before_the_investigation_is_retried_not_dropped(functions, slack, aws):
    setup_tenant(functions, slack)
    [result] = deliver(aws, example("alert_resolved"))
    assert result.failed_ids == result.message_ids  # comes back after the visibility timeout
    assert slack.messages("C0PROD") == []
