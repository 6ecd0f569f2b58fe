"""The investigation message as a reader (and Slack) sees it: content, safety, and size limits."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from sre_slack.blocks import investigation as investigation_module
from sre_slack.blocks.feedback_line import (
    FeedbackSummary,
    feedback_context_block,
    rating_for_action_id,
    render_feedback_line,
    with_feedback_line,
)
from sre_slack.blocks.investigation import build_investigation_message
from sre_slack.blocks.investigation_actions import (
    Acknowledged,
    investigation_in,
    render_acknowledged,
    shown_acknowledged_line,
    with_acknowledged_line,
)
from sre_slack.blocks.limits import (
    BLOCKS_TOTAL_CHARS_BUDGET,
    FALLBACK_TEXT_MAX,
    blocks_char_count,
    validate_message,
)
from sre_slack.blocks.message import SlackMessage
from sre_slack.blocks.text import (
    HIDDEN_CHARACTERS,
    bullet_list,
    clip,
    code_block,
    escape,
    inline_code,
    one_line,
    slack_len,
    strip_hidden,
    truncate,
    truncate_plain,
)
from sre_slack.contracts.buttons import FeedbackButtonValue
from sre_slack.contracts.investigation import InvestigationCompleted, parse_investigation_message

EVENTS = Path(__file__).resolve().parents[2] / "events"
HOSTILE = "<!channel> <@U1> <https://evil.example|click> <!here> <#C123>"
INERT = ("<!channel>", "<@U1>", "<https://evil", "<!here>", "<#C123>")


def example() -> dict[str, Any]:
    return json.loads((EVENTS / "investigation_completed.json").read_text())


def investigation(document: dict[str, Any] | None = None) -> InvestigationCompleted:
    message = parse_investigation_message(json.dumps(document if document is not None else example()))
    assert isinstance(message, InvestigationCompleted)
    return message


def build(document: dict[str, Any] | None = None, **kwargs: Any) -> SlackMessage:
    return build_investigation_message(investigation(document), tenant_id="t_acme", **kwargs)


def wire(message: SlackMessage) -> list[dict[str, Any]]:
    """The blocks as Slack receives them."""
    return message.as_kwargs()["blocks"]


def block(message: SlackMessage, block_id: str) -> dict[str, Any]:
    matches = [b for b in wire(message) if b.get("block_id") == block_id]
    assert len(matches) == 1, f"expected one block {block_id!r}, got {[b.get('block_id') for b in wire(message)]}"
    return matches[0]


def block_in(blocks: list[dict[str, Any]], block_id: str) -> dict[str, Any]:
    [found] = [b for b in blocks if b.get("block_id") == block_id]
    return found


def has_block(message: SlackMessage, block_id: str) -> bool:
    return any(b.get("block_id") == block_id for b in wire(message))


def texts(node: Any) -> Iterator[tuple[str, str]]:
    """Every (type, text) text object in the blocks."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node["type"], node["text"]
        for value in node.values():
            yield from texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts(value)


def mrkdwn(message: SlackMessage) -> str:
    return "\n".join(text for kind, text in texts(wire(message)) if kind == "mrkdwn")


def header_text(message: SlackMessage) -> str:
    return block(message, "title")["text"]["text"]


def step_line(message: SlackMessage, index: int) -> str:
    """The title line of step `index` (with its warnings): a section, or a context line once not needed."""
    found = block(message, f"action_{index}")
    return found["text"]["text"] if found["type"] == "section" else found["elements"][0]["text"]


def command_shown(message: SlackMessage, index: int) -> str | None:
    """What copying step `index`'s command gives: the text of its preformatted rich_text, or None."""
    found = [b for b in wire(message) if b.get("block_id") == f"action_{index}_command"]
    if not found:
        return None
    [rich] = found
    assert rich["type"] == "rich_text"
    [preformatted] = rich["elements"]
    assert preformatted["type"] == "rich_text_preformatted"
    assert all(element["type"] == "text" and "style" not in element for element in preformatted["elements"])
    return "".join(element["text"] for element in preformatted["elements"])


def assert_slack_accepts(message: SlackMessage) -> None:
    assert validate_message(wire(message), message.text) == []
    # An independent check of the per-field limits: slack_sdk's own block classes.
    for raw in wire(message):
        Block.parse(copy.deepcopy(raw)).validate_json()
    assert slack_len(message.text) <= FALLBACK_TEXT_MAX
    assert "\n" not in message.text


# --- what the reader sees ------------------------------------------------------------------------------


def test_the_contract_example_shows_everything_a_responder_needs() -> None:
    message = build()
    body = mrkdwn(message)

    assert header_text(message) == "🔴 KubePodCrashLooping"
    assert "Pod payments/api-7f9c4 is restarting every 40 s" in block(message, "summary")["text"]["text"]
    fields = [field["text"] for field in block(message, "summary")["fields"]]
    assert "*Severity*\n🔴 Critical" in fields
    assert "*Cluster*\nproduction-us-east" in fields
    assert "*Namespace*\npayments" in fields
    assert "*Workspace*\nplatform-team" in fields
    assert "*Fired at*\n<!date^1795767120^{date_short_pretty} {time}|2026-11-27 08:12 UTC>" in fields
    root_cause = block(message, "root_cause")["text"]["text"]
    assert "confidence: _high_" in root_cause
    assert "the JVM heap needs 300Mi, so the container is OOMKilled on start." in root_cause
    resources = block(message, "resources")["text"]["text"]
    assert "*Deployment* payments/api · _2/5 ready_" in resources
    assert "*Pod* payments/api-7f9c4 · _CrashLoopBackOff_" in resources
    assert command_shown(message, 0) == "kubectl describe pod api-7f9c4 -n payments"
    assert command_shown(message, 1) == "kubectl rollout undo deployment/api -n payments"
    assert "kubectl" not in body  # commands are never mrkdwn
    assert_slack_accepts(message)


def test_the_warning_on_a_command_that_changes_the_cluster_comes_before_it_in_the_title() -> None:
    message = build()
    order = [b.get("block_id") for b in wire(message)]

    assert step_line(message, 0) == "*1. Inspect the last termination*"
    assert step_line(message, 1) == "*2. ⚠️ Changes the cluster · Roll back to the previous revision*"
    assert order.index("action_1") + 1 == order.index("action_1_command")
    assert "Changes the cluster" not in step_line(message, 0)


def test_sections_read_in_the_order_of_need() -> None:
    order = [b.get("block_id") for b in wire(build())]

    assert order.index("title") == 0
    assert order.index("summary") < order.index("root_cause") < order.index("action_0")
    assert order.index("action_0") < order.index("resources") < order.index("feedback")
    assert order[-1] == "feedback"


def test_the_fallback_text_is_one_readable_line() -> None:
    assert build().text == (
        "🔴 [critical] KubePodCrashLooping on production-us-east/payments: "
        "Pod payments/api-7f9c4 is restarting every 40 s"
    )


def test_the_fallback_text_without_namespace_names_the_cluster_only() -> None:
    document = example()
    document["alert"]["namespace"] = None
    document["alert"]["severity"] = "warning"

    assert build(document).text.startswith("🟠 [warning] KubePodCrashLooping on production-us-east: ")


@pytest.mark.parametrize(("severity", "emoji"), [("critical", "🔴"), ("warning", "🟠"), ("info", "🔵")])
def test_the_header_carries_a_severity_cue(severity: str, emoji: str) -> None:
    document = example()
    document["alert"]["severity"] = severity

    message = build(document)

    assert header_text(message) == f"{emoji} KubePodCrashLooping"
    assert message.text.startswith(f"{emoji} [{severity}] ")


def test_the_three_feedback_buttons_are_labelled_exactly() -> None:
    feedback = block(build(), "feedback")

    assert feedback["type"] == "actions"
    assert [e["text"]["text"] for e in feedback["elements"]] == ["Accurate", "Partially Accurate", "Needs Improvement"]
    assert [e["action_id"] for e in feedback["elements"]] == [
        "feedback_accurate",
        "feedback_partially_accurate",
        "feedback_needs_improvement",
    ]
    assert [rating_for_action_id(e["action_id"]) for e in feedback["elements"]] == [
        "accurate",
        "partially_accurate",
        "needs_improvement",
    ]


def test_the_button_value_names_tenant_and_investigation_only() -> None:
    for element in block(build(), "feedback")["elements"]:
        assert json.loads(element["value"]) == {"t": "t_acme", "i": "inv_01JD4X8Y2Z"}
        assert FeedbackButtonValue.parse(element["value"]) == FeedbackButtonValue(
            tenant_id="t_acme", investigation_id="inv_01JD4X8Y2Z"
        )
        assert "xox" not in element["value"]


@pytest.mark.parametrize(
    "value",
    ['{"t":"t_acme"}', '{"t":"t#x","i":"inv_1"}', '["t_acme","inv_1"]', "not json", '{"t":1,"i":"inv_1"}'],
)
def test_a_crafted_button_value_is_not_accepted_back(value: str) -> None:
    assert FeedbackButtonValue.parse(value) is None


def test_the_tenant_for_the_buttons_must_be_a_safe_id() -> None:
    with pytest.raises(ValueError, match="tenant_id"):
        build_investigation_message(investigation(), tenant_id='t","i":"other')


def test_the_portal_link_is_a_button_when_given() -> None:
    portal = block(build(), "portal")

    link = portal["elements"][1]
    assert link["text"]["text"] == "View in portal"
    assert link["url"] == "https://portal.example.com/investigations/inv_01JD4X8Y2Z"
    assert rating_for_action_id(link["action_id"]) is None


def test_acknowledge_the_portal_link_and_the_overflow_menu_share_one_row_above_the_rating_buttons() -> None:
    message = build()
    row = block(message, "portal")

    acknowledge, link, menu = row["elements"]
    assert (acknowledge["type"], acknowledge["text"]["text"], acknowledge["action_id"]) == (
        "button", "Acknowledge", "acknowledge")
    assert FeedbackButtonValue.parse(acknowledge["value"]) == FeedbackButtonValue(
        tenant_id="t_acme", investigation_id="inv_01JD4X8Y2Z")
    assert link["text"]["text"] == "View in portal"
    assert (menu["type"], menu["action_id"]) == ("overflow", "investigation_menu")
    assert [(o["text"]["text"], o["value"]) for o in menu["options"]] == [("Re-investigate", "reinvestigate")]
    assert menu["confirm"]["confirm"]["text"] == "Re-investigate"
    assert [b.get("block_id") for b in wire(message)][-2:] == ["portal", "feedback"]
    # None of them collides with a rating (or any other) action id.
    ids = [e["action_id"] for b in wire(message) if b["type"] == "actions" for e in b["elements"]]
    assert len(ids) == len(set(ids)) and all(rating_for_action_id(i) is None for i in ids[:3])
    assert_slack_accepts(message)


def test_without_portal_url_there_is_no_portal_button() -> None:
    document = example()
    del document["portal_url"]

    message = build(document)

    assert [e["action_id"] for e in block(message, "portal")["elements"]] == ["acknowledge", "investigation_menu"]
    assert "View in portal" not in json.dumps(wire(message))
    assert_slack_accepts(message)


def test_an_acknowledged_investigation_says_who_and_when_under_the_title() -> None:
    at = datetime(2026, 11, 27, 8, 14, 5, tzinfo=UTC)

    message = build(resolved_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC), resent=True,
                    acknowledged=Acknowledged("U0ALICE", at))

    assert block(message, "acknowledged")["elements"][0]["text"] == (
        "Acknowledged by <@U0ALICE> · <!date^1795767245^{time}|2026-11-27 08:14 UTC>")
    order = [b.get("block_id") for b in wire(message)]
    assert order.index("resolved") < order.index("resent") < order.index("acknowledged") < order.index("summary")
    assert "acknowledge" in json.dumps(block(message, "portal"))  # the button stays; later clicks change nothing
    assert_slack_accepts(message)


def test_the_click_puts_the_acknowledged_line_where_posting_renders_it() -> None:
    acknowledged = Acknowledged("U0BOB", datetime(2026, 11, 27, 8, 14, tzinfo=UTC))
    posted = build(resent=True).as_kwargs()["blocks"]

    clicked = with_acknowledged_line(posted, acknowledged)

    assert clicked == build(resent=True, acknowledged=acknowledged).as_kwargs()["blocks"]
    assert with_acknowledged_line(clicked, acknowledged) == clicked  # replaced, never doubled
    assert shown_acknowledged_line(clicked) == render_acknowledged(acknowledged)
    assert shown_acknowledged_line(posted) is None
    assert investigation_in(posted) == FeedbackButtonValue(tenant_id="t_acme", investigation_id="inv_01JD4X8Y2Z")
    assert investigation_in([{"type": "section", "block_id": "summary"}]) is None


def test_a_mention_that_is_not_a_user_id_stays_inert_in_the_acknowledged_line() -> None:
    line = render_acknowledged(Acknowledged("<!channel>", datetime(2026, 11, 27, 8, 14, tzinfo=UTC)))
    assert line.startswith("Acknowledged by &lt;!channel&gt; · ")


def test_a_test_investigation_says_so() -> None:
    document = example()
    document["test"] = True

    message = build(document)

    assert header_text(message).startswith("🧪 TEST")
    assert "KubePodCrashLooping" in header_text(message)
    assert block(message, "test_marker")["elements"][0]["text"].endswith("This is a test from Test Integration")
    assert message.text.startswith("[TEST] ")
    assert_slack_accepts(message)


def test_a_real_investigation_has_no_test_marker() -> None:
    message = build()

    assert not has_block(message, "test_marker")
    assert "TEST" not in header_text(message)


def test_a_resolved_investigation_keeps_its_content_and_buttons() -> None:
    resolved_at = datetime(2026, 11, 27, 8, 47, 30, tzinfo=UTC)

    message = build(resolved_at=resolved_at)

    assert header_text(message) == "✅ Resolved: KubePodCrashLooping"
    assert block(message, "resolved")["elements"][0]["text"] == (
        "✅ Resolved at <!date^1795769250^{date_short_pretty} {time}|2026-11-27 08:47 UTC> · after 35 min"
    )
    assert [e["text"]["text"] for e in block(message, "feedback")["elements"]] == [
        "Accurate",
        "Partially Accurate",
        "Needs Improvement",
    ]
    assert has_block(message, "root_cause") and has_block(message, "action_0")
    assert message.text.startswith("✅ Resolved: ")
    assert_slack_accepts(message)


def test_a_resolved_test_investigation_is_still_marked_as_a_test() -> None:
    document = example()
    document["test"] = True

    message = build(document, resolved_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))

    assert header_text(message) == "🧪 TEST · ✅ Resolved: KubePodCrashLooping"
    assert has_block(message, "test_marker")


def test_feedback_shows_who_rated_and_how() -> None:
    summary = FeedbackSummary(
        counts={"accurate": 1, "needs_improvement": 1}, latest_user_id="U123", latest_rating="accurate"
    )

    message = build(feedback=summary)

    line = block(message, "feedback_summary")["elements"][0]["text"]
    assert line == "Rated *Accurate* by <@U123> · 2 ratings: 1 Accurate, 1 Needs Improvement"
    assert has_block(message, "feedback")
    assert_slack_accepts(message)


def test_a_single_rating_reads_as_one_line_without_a_breakdown() -> None:
    summary = FeedbackSummary(
        counts={"partially_accurate": 1}, latest_user_id="W0ABC12", latest_rating="partially_accurate"
    )

    assert render_feedback_line(summary) == "Rated *Partially Accurate* by <@W0ABC12>"


def test_no_ratings_means_no_feedback_line() -> None:
    assert render_feedback_line(FeedbackSummary()) is None
    assert not has_block(build(feedback=FeedbackSummary()), "feedback_summary")


def test_a_rater_id_that_is_not_a_slack_user_id_cannot_form_a_mention() -> None:
    summary = FeedbackSummary(counts={"accurate": 1}, latest_user_id="<!channel>", latest_rating="accurate")

    line = render_feedback_line(summary)

    assert line is not None
    assert "<!channel>" not in line
    assert "&lt;!channel&gt;" in line


def _ids(blocks: list[dict[str, Any]]) -> list[str | None]:
    return [b.get("block_id") for b in blocks]


def test_a_click_puts_the_feedback_line_above_the_portal_and_rating_buttons() -> None:
    posted = build().as_kwargs()["blocks"]

    blocks = with_feedback_line(posted, FeedbackSummary({"accurate": 1}, "U0ALICE", "accurate"))

    assert _ids(blocks)[-3:] == ["feedback_summary", "portal", "feedback"]
    assert blocks[-3]["elements"][0]["text"] == "Rated *Accurate* by <@U0ALICE>"
    # Everything else is the message as posted.
    assert [b for b in blocks if b.get("block_id") != "feedback_summary"] == posted
    assert validate_message(blocks, "t") == []


def test_a_later_click_replaces_the_line_and_nobody_left_removes_it() -> None:
    first = with_feedback_line(build().as_kwargs()["blocks"], FeedbackSummary({"accurate": 1}, "U0ALICE", "accurate"))

    second = with_feedback_line(
        first, FeedbackSummary({"accurate": 1, "needs_improvement": 1}, "U0BOB", "needs_improvement")
    )
    cleared = with_feedback_line(second, FeedbackSummary())

    assert _ids(second).count("feedback_summary") == 1
    assert block_in(second, "feedback_summary")["elements"][0]["text"] == (
        "Rated *Needs Improvement* by <@U0BOB> · 2 ratings: 1 Accurate, 1 Needs Improvement"
    )
    assert "feedback_summary" not in _ids(cleared)
    assert _ids(cleared) == _ids(build().as_kwargs()["blocks"])


def test_without_rating_buttons_the_line_goes_last() -> None:
    blocks = [{"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "x"}}]

    assert _ids(with_feedback_line(blocks, FeedbackSummary({"accurate": 1}, "U1", "accurate"))) == [
        "summary",
        "feedback_summary",
    ]


def test_empty_analysis_is_said_rather_than_left_blank() -> None:
    document = example()
    document["root_cause"] = "   "
    document["alert"]["summary"] = ""

    message = build(document)

    assert "did not report a root cause" in block(message, "root_cause")["text"]["text"]
    assert "No summary provided" in block(message, "summary")["text"]["text"]
    assert_slack_accepts(message)


def test_a_re_sent_message_says_so_under_the_title() -> None:
    message = build(resent=True)
    order = [b.get("block_id") for b in wire(message)]

    assert block(message, "resent")["elements"][0]["text"] == (
        "↻ re-sent after a Slack error; an earlier copy may exist"
    )
    assert order.index("title") < order.index("resent") < order.index("summary")
    assert_slack_accepts(message)


def test_a_re_sent_resolved_test_message_keeps_every_status_line() -> None:
    document = example()
    document["test"] = True

    message = build(document, resolved_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC), resent=True)

    assert [b.get("block_id") for b in wire(message)][:5] == ["title", "test_marker", "resolved", "resent", "summary"]


def test_a_first_posting_does_not_say_it_was_re_sent() -> None:
    assert not has_block(build(), "resent")
    assert "re-sent" not in json.dumps(build().as_kwargs(), ensure_ascii=False)


def test_actions_without_commands_and_no_resources_still_render() -> None:
    document = example()
    document["recommended_actions"] = [{"title": "Page the payments on-call"}]
    document["affected_resources"] = []
    document["alert"]["labels"] = {}

    message = build(document)

    assert block(message, "action_0")["text"]["text"] == "*1. Page the payments on-call*"
    assert not has_block(message, "resources")
    assert not has_block(message, "labels")
    assert_slack_accepts(message)


def test_as_kwargs_is_what_chat_post_message_takes() -> None:
    message = build()

    kwargs = message.as_kwargs()

    assert set(kwargs) == {"text", "blocks"} and kwargs["text"] == message.text
    # Plain JSON, in the message's order: what the Web API client sends.
    assert json.loads(json.dumps(kwargs["blocks"])) == kwargs["blocks"]
    assert [b.get("block_id") for b in kwargs["blocks"]] == [b.block_id for b in message.blocks]


# --- commands: what a reader copies is the command ---------------------------------------------------


def with_actions(*actions: dict[str, Any], portal: bool = True) -> dict[str, Any]:
    document = example()
    document["recommended_actions"] = list(actions)
    if not portal:
        del document["portal_url"]
    return document


PORTAL_LINK = "<https://portal.example.com/investigations/inv_01JD4X8Y2Z|the portal>"


@pytest.mark.parametrize(
    "command",
    [
        "echo '```' && kubectl get pods `hostname` | grep '<!channel>' && echo \"a & b > c\"",
        "```\nkubectl get pods\n```",
        "kubectl get pods -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\\n' | grep -v '^_' | sort | uniq -c",
        "kubectl get pods -n payments \\\n  --field-selector=status.phase!=Running \\\n  -o wide",
        "`backticks at both ends`",
    ],
    ids=["fences-and-mentions", "fenced", "markup-characters", "multi-line", "backticks-at-the-ends"],
)
def test_a_command_is_shown_exactly_as_sent(command: str) -> None:
    message = build(with_actions({"title": "Look", "command": command}))

    assert command_shown(message, 0) == command
    assert "\u200b" not in json.dumps(message.as_kwargs())
    assert_slack_accepts(message)


def test_a_command_over_its_cap_is_not_shown_cut_but_pointed_to() -> None:
    long_command = "kubectl get pods -l " + ",".join(f"app{i}=x" for i in range(200))
    assert len(long_command) > investigation_module.COMMAND_MAX

    with_portal = build(with_actions({"title": "List them", "command": long_command}))
    without_portal = build(with_actions({"title": "List them", "command": long_command}, portal=False))

    assert command_shown(with_portal, 0) is None
    assert step_line(with_portal, 0) == (
        f"*1. List them*\n_The command is too long to show here — see {PORTAL_LINK}_"
    )
    assert command_shown(without_portal, 0) is None
    assert step_line(without_portal, 0) == "*1. List them*\n_The command is too long to show here — see the portal_"
    assert_slack_accepts(with_portal)
    assert_slack_accepts(without_portal)


def test_a_too_long_command_that_changes_the_cluster_still_warns_first() -> None:
    message = build(with_actions({"title": "Clean up", "command": "kubectl delete pod " + "p " * 500}))

    assert step_line(message, 0).startswith("*1. ⚠️ Changes the cluster · Clean up*\n_The command is too long")


def test_commands_beyond_the_room_left_say_so_instead_of_being_cut() -> None:
    document = huge_document()
    commands = [f"kubectl -n x get pod p{i} -o yaml " + "x" * 700 for i in range(40)]
    document["recommended_actions"] = [{"title": f"Step {i}", "command": c} for i, c in enumerate(commands)]

    message = build(document)

    assert_slack_accepts(message)
    shown = [i for i in range(40) if has_block(message, f"action_{i}")]
    assert shown and len(shown) <= investigation_module.MAX_ACTIONS_SHOWN
    outcomes = ["shown" if command_shown(message, i) is not None else "too long" for i in shown]
    assert "shown" in outcomes and "too long" in outcomes
    for i in shown:
        if command_shown(message, i) is not None:
            assert command_shown(message, i) == commands[i]
        else:
            assert "The command is too long to show here — see" in step_line(message, i)


def test_hidden_characters_removed_from_a_command_are_said() -> None:
    sent = "kubectl\u200b rollout undo deployment/api\u202e -n payments\u2066"

    message = build(with_actions({"title": "Roll back", "command": sent}))

    assert command_shown(message, 0) == "kubectl rollout undo deployment/api -n payments"
    assert step_line(message, 0) == (
        "*1. ⚠️ Changes the cluster · Roll back*\n"
        f"⚠️ Hidden characters were removed from this command — check it in {PORTAL_LINK} before running it"
    )
    assert_slack_accepts(message)


def test_a_command_without_hidden_characters_has_no_such_warning() -> None:
    assert "Hidden characters" not in mrkdwn(build())


def test_a_hidden_character_cannot_hide_that_a_command_changes_the_cluster() -> None:
    message = build(with_actions({"title": "Look", "command": "kubectl de\u200blete pod api"}))

    assert command_shown(message, 0) == "kubectl delete pod api"
    assert step_line(message, 0).startswith("*1. ⚠️ Changes the cluster · Look*")


def test_a_command_of_hidden_characters_only_shows_none_and_says_why() -> None:
    message = build(with_actions({"title": "Look", "command": "\u200b\u202e"}))

    assert command_shown(message, 0) is None
    assert "Hidden characters were removed from this command" in step_line(message, 0)


def test_once_resolved_a_step_that_changes_the_cluster_reads_as_not_needed_now() -> None:
    message = build(resolved_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))

    rollback = block(message, "action_1")
    assert rollback["type"] == "context"
    assert rollback["elements"][0]["text"] == (
        "_Not needed now: the alert is resolved_ · 2. ⚠️ Changes the cluster · Roll back to the previous revision"
    )
    assert command_shown(message, 1) == "kubectl rollout undo deployment/api -n payments"
    # A step that only reads is as useful after the alert as during it.
    assert step_line(message, 0) == "*1. Inspect the last termination*"
    assert block(message, "action_0")["type"] == "section"
    assert_slack_accepts(message)


def test_ten_steps_with_commands_stay_within_the_block_count() -> None:
    document = example()
    document["recommended_actions"] = [
        {"title": f"Step {i}", "command": f"kubectl delete pod p{i}"} for i in range(40)
    ]
    document["test"] = True

    message = build(
        document,
        resolved_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        feedback=FeedbackSummary({"accurate": 1}, "U1", "accurate"),
        resent=True,
    )

    assert_slack_accepts(message)
    assert [command_shown(message, i) for i in range(10)] == [f"kubectl delete pod p{i}" for i in range(10)]
    assert block(message, "actions_more")["elements"][0]["text"].startswith("…and 30 more actions — see ")


# --- nothing from outside can ping or link -------------------------------------------------------------


def hostile_document() -> dict[str, Any]:
    document = example()
    document["cluster"] = f"prod {HOSTILE}"
    document["workspace"] = HOSTILE
    document["confidence"] = HOSTILE
    document["root_cause"] = f"Because {HOSTILE} & more"
    document["alert"]["name"] = f"Alert {HOSTILE}"
    document["alert"]["namespace"] = HOSTILE
    document["alert"]["summary"] = f"Summary {HOSTILE}"
    document["alert"]["labels"] = {HOSTILE: HOSTILE}
    document["affected_resources"] = [{"kind": HOSTILE, "namespace": HOSTILE, "name": HOSTILE, "status": HOSTILE}]
    document["recommended_actions"] = [{"title": HOSTILE, "command": f"kubectl get pods | grep '{HOSTILE}'"}]
    return document


def test_mentions_and_links_from_outside_render_inert() -> None:
    for resolved_at in (None, datetime(2026, 11, 27, 9, tzinfo=UTC)):
        message = build(hostile_document(), resolved_at=resolved_at)
        body = mrkdwn(message)

        for token in INERT:
            assert token not in body
            assert token not in message.text
        assert "&lt;!channel&gt;" in block(message, "summary")["text"]["text"]
        assert "&lt;@U1&gt;" in block(message, "root_cause")["text"]["text"]
        assert "&lt;https://evil.example|click&gt;" in block(message, "resources")["text"]["text"]
        assert "&amp; more" in block(message, "root_cause")["text"]["text"]
        assert_slack_accepts(message)


def test_every_angle_bracket_left_in_mrkdwn_is_one_of_ours() -> None:
    message = build(hostile_document(), feedback=FeedbackSummary({"accurate": 1}, "U123", "accurate"))

    tokens = re.findall(r"<[^>]*>", mrkdwn(message))

    assert tokens  # the dates, the portal link and the rater mention
    for token in tokens:
        assert token.startswith(("<!date^", "<https://portal.example.com/", "<@U123>")), token


def test_the_header_shows_outside_text_literally() -> None:
    # plain_text is not parsed by Slack: nothing to escape, nothing that could ping.
    assert header_text(build(hostile_document())).startswith("🔴 Alert <!channel>")


# --- nothing from outside can hide in the text ---------------------------------------------------------

HIDDEN = "".join(sorted(HIDDEN_CHARACTERS))


def laced(text: str) -> str:
    """`text` with every directional and invisible character between its first two characters and at its end."""
    return f"{text[:1]}{HIDDEN}{text[1:]}{HIDDEN}"


def laced_document() -> dict[str, Any]:
    document = example()
    document["cluster"] = laced(document["cluster"])
    document["workspace"] = laced(document["workspace"])
    document["confidence"] = laced("high")
    document["root_cause"] = laced(document["root_cause"])
    alert = document["alert"]
    for key in ("name", "namespace", "summary"):
        alert[key] = laced(alert[key])
    alert["labels"] = {laced(key): laced(value) for key, value in {**alert["labels"], "team": "payments"}.items()}
    document["affected_resources"] = [
        {key: laced(value) for key, value in resource.items()} for resource in document["affected_resources"]
    ]
    document["recommended_actions"] = [
        {key: laced(value) for key, value in action.items()} for action in document["recommended_actions"]
    ]
    return document


def test_the_hidden_characters_are_the_directional_and_invisible_ones() -> None:
    expected = {0x00AD, 0x061C, 0x180E, 0xFEFF, *range(0x200B, 0x2010), *range(0x202A, 0x202F)}
    expected |= {*range(0x2060, 0x2065), *range(0x2066, 0x206A)}
    assert {ord(char) for char in HIDDEN_CHARACTERS} == expected


@pytest.mark.parametrize("resolved", [False, True])
def test_no_directional_or_invisible_character_reaches_slack(resolved: bool) -> None:
    message = build(
        laced_document(),
        resolved_at=datetime(2026, 11, 27, 9, tzinfo=UTC) if resolved else None,
        feedback=FeedbackSummary({"accurate": 1}, "U1", "accurate"),
    )

    posted = json.dumps(message.as_kwargs(), ensure_ascii=False)
    assert not HIDDEN_CHARACTERS & set(posted)
    # What was around them is all still there.
    assert header_text(message).endswith("KubePodCrashLooping")
    assert "*Cluster*\nproduction-us-east" in block(message, "summary")["fields"][1]["text"]
    assert "`team=payments`" in block(message, "labels")["elements"][0]["text"]
    assert command_shown(message, 1) == "kubectl rollout undo deployment/api -n payments"
    assert "Hidden characters were removed from this command" in step_line(message, 1)
    assert "🔴 [critical] KubePodCrashLooping on production-us-east/payments: Pod payments/api-7f9c4" in message.text
    assert_slack_accepts(message)


def test_a_right_to_left_override_cannot_flip_text_next_to_a_command() -> None:
    # "RTL" after U+202E reads "LTR" on screen.
    document = with_actions({"title": "Check \u202eRTL", "command": "kubectl get pods # \u202eRTL"})

    message = build(document)

    assert step_line(message, 0).startswith("*1. Check RTL*")
    assert command_shown(message, 0) == "kubectl get pods # RTL"


def test_the_hostile_example_event_carries_no_hidden_character_to_slack() -> None:
    inv = parse_investigation_message((EVENTS / "investigation_hostile.json").read_text())
    assert isinstance(inv, InvestigationCompleted)
    assert "\u202e" in inv.alert.name

    for resolved_at in (None, datetime(2026, 11, 28, tzinfo=UTC)):
        message = build_investigation_message(inv, tenant_id="t_acme", resolved_at=resolved_at)
        assert not HIDDEN_CHARACTERS & set(json.dumps(message.as_kwargs(), ensure_ascii=False))


def test_the_hostile_example_labels_are_whole_chips() -> None:
    inv = parse_investigation_message((EVENTS / "investigation_hostile.json").read_text())
    assert isinstance(inv, InvestigationCompleted)

    labels = block(build_investigation_message(inv, tenant_id="t_acme"), "labels")["elements"][0]["text"]

    # Every chip opened is closed (narrower when room is short), and the rest is counted rather than cut.
    assert re.fullmatch(r"(`[^`\n]+` )+…and \d+ more", labels), labels
    assert labels.startswith("`label_0000=value-0")


def test_labels_are_whole_chips_whatever_the_room() -> None:
    document = example()
    document["alert"]["labels"] = {f"key{i}": "v" * (i * 7) for i in range(12)}

    for limit in range(0, 420, 7):
        [found] = investigation_module._labels_context(document["alert"]["labels"], limit) or [None]
        if found is None:
            continue
        text = found.to_dict()["elements"][0]["text"]
        assert blocks_char_count(found) <= limit
        assert re.fullmatch(r"((`key\d+=v*…?`)( |$))*(…and \d+ more)?", text), (limit, text)


# --- any size of input fits ----------------------------------------------------------------------------


def huge_document() -> dict[str, Any]:
    document = example()
    long_name = "N" * 300
    document["cluster"] = "c" * 300
    document["workspace"] = "w" * 300
    document["confidence"] = "x" * 300
    document["alert"]["name"] = long_name
    document["alert"]["namespace"] = "n" * 300
    document["alert"]["summary"] = "Summary & <detail> " * 3000
    document["alert"]["labels"] = {f"label-{i}-{'k' * 100}": f"{'v' * 200} & <{i}>" for i in range(1000)}
    document["root_cause"] = ("Root cause sentence with & and <tags> and 🔥. " * 1200)[:50_000]
    document["affected_resources"] = [
        {"kind": "K" * 300, "namespace": "n" * 300, "name": f"{i}-" + "r" * 300, "status": "s" * 300} for i in range(60)
    ]
    document["recommended_actions"] = [
        {"title": "T" * 300, "command": f"kubectl -n x delete pod p{i} " + "a&<>`" * 1000} for i in range(40)
    ]
    document["portal_url"] = "https://portal.example.com/investigations/inv_01JD4X8Y2Z"
    return document


def test_a_huge_investigation_fits_every_limit_and_points_to_the_portal() -> None:
    message = build(huge_document(), feedback=FeedbackSummary({"accurate": 3}, "U123", "accurate"))

    assert_slack_accepts(message)
    assert blocks_char_count(message.blocks) <= BLOCKS_TOTAL_CHARS_BUDGET
    body = mrkdwn(message)
    portal_link = "<https://portal.example.com/investigations/inv_01JD4X8Y2Z|the portal>"
    assert re.search(r"…and \d+ more actions — see " + re.escape(portal_link), body)
    assert re.search(r"…and \d+ more — see " + re.escape(portal_link), block(message, "resources")["text"]["text"])
    assert "Full analysis: see " + portal_link in block(message, "root_cause")["text"]["text"]
    # The priorities: every section still shows something.
    for block_id in ("title", "summary", "root_cause", "action_0", "resources", "feedback", "feedback_summary"):
        assert has_block(message, block_id)


def test_a_full_message_keeps_room_for_the_feedback_line_a_click_adds() -> None:
    # The click handler inserts the line into the posted blocks without rebuilding the message.
    message = build(huge_document())
    busiest = FeedbackSummary(
        {"accurate": 10**9, "partially_accurate": 10**9, "needs_improvement": 10**9}, "W" + "A" * 31, "accurate"
    )
    line = feedback_context_block(busiest)
    assert line is not None

    blocks = [*wire(message)[:-2], line.to_dict(), *wire(message)[-2:]]
    # ...and the "Acknowledged by" line, with the longest user id.
    blocks = with_acknowledged_line(blocks, Acknowledged("W" + "A" * 31, datetime(2026, 11, 27, tzinfo=UTC)))

    assert validate_message(blocks, message.text) == []


def test_a_huge_investigation_without_portal_still_says_where_to_look() -> None:
    document = huge_document()
    del document["portal_url"]

    message = build(document, resolved_at=datetime(2026, 11, 28, tzinfo=UTC))

    assert_slack_accepts(message)
    assert re.search(r"…and \d+ more actions — see the portal", mrkdwn(message))


def test_the_hostile_example_event_fits_every_limit() -> None:
    inv = parse_investigation_message((EVENTS / "investigation_hostile.json").read_text())
    assert isinstance(inv, InvestigationCompleted)

    message = build_investigation_message(
        inv,
        tenant_id="t_acme",
        resolved_at=datetime(2026, 11, 28, tzinfo=UTC),
        feedback=FeedbackSummary({"accurate": 2}, "U1", "accurate"),
    )

    assert_slack_accepts(message)
    for token in INERT[:3]:
        assert token not in mrkdwn(message)


def test_emoji_count_double_against_the_limits() -> None:
    document = example()
    document["alert"]["summary"] = "🔥" * 5000
    document["root_cause"] = "🔥" * 50_000
    document["recommended_actions"] = [{"title": "🔥" * 300, "command": "echo " + "🔥" * 5000}] * 40

    assert_slack_accepts(build(document))


def test_a_very_long_portal_url_stays_on_the_button_only() -> None:
    document = huge_document()
    document["portal_url"] = "https://portal.example.com/" + "p" * 2900

    message = build(document)

    assert_slack_accepts(message)
    assert block(message, "portal")["elements"][1]["url"] == document["portal_url"]
    assert document["portal_url"] not in mrkdwn(message)


@pytest.mark.parametrize(
    "oversized",
    [
        [SectionBlock(text=MarkdownTextObject(text="x" * 100))] * 60,  # too many blocks
        [SectionBlock(text=MarkdownTextObject(text="x" * 5000))],  # slack_sdk itself refuses
        [SectionBlock(text=MarkdownTextObject(text="🔥" * 2000))],  # only the UTF-16 count catches it
    ],
    ids=["60-blocks", "section-5000", "section-2000-emoji"],
)
def test_the_last_guard_sends_a_minimal_message_rather_than_none(
    monkeypatch: pytest.MonkeyPatch, oversized: list[Block]
) -> None:
    monkeypatch.setattr(investigation_module, "_full_blocks", lambda *_args, **_kwargs: oversized)

    message = build()

    assert_slack_accepts(message)
    assert header_text(message) == "🔴 KubePodCrashLooping"
    assert "Pod payments/api-7f9c4 is restarting every 40 s" in block(message, "summary")["text"]["text"]
    assert not has_block(message, "root_cause")
    assert [e["text"]["text"] for e in block(message, "feedback")["elements"]] == [
        "Accurate",
        "Partially Accurate",
        "Needs Improvement",
    ]


def test_the_minimal_message_still_says_it_was_re_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    oversized = [SectionBlock(text=MarkdownTextObject(text="x" * 100))] * 60
    monkeypatch.setattr(investigation_module, "_full_blocks", lambda *_args, **_kwargs: oversized)

    message = build(resent=True)

    assert_slack_accepts(message)
    assert not has_block(message, "root_cause")
    assert block(message, "resent")["elements"][0]["text"] == "↻ re-sent after a Slack error; an earlier copy may exist"


_PIECE = st.one_of(
    st.sampled_from(list("<>&`*_~|!@#\n -:/")),
    st.sampled_from(["&amp;", "<!channel>", "<@U1>", "```", "🔥", "é", "\u200d"]),
    st.sampled_from(sorted(HIDDEN_CHARACTERS)),
    st.characters(exclude_categories=("Cs",)),
)
_TEXT = st.lists(_PIECE, max_size=80).map("".join)
_NAME = st.lists(_PIECE, min_size=1, max_size=80).map("".join).filter(str.strip)


def _long(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    # Hypothesis prefers short text; repeating it reaches the sizes that matter for the limits.
    return st.tuples(strategy, st.sampled_from([1, 30, 300])).map(lambda pair: pair[0] * pair[1])


def _sized_lists(element: st.SearchStrategy[Any], sizes: tuple[int, ...]) -> st.SearchStrategy[list[Any]]:
    # Small, typical and hostile list lengths, each drawn as often as the others.
    return st.sampled_from(sizes).flatmap(lambda n: st.lists(element, min_size=n, max_size=n))


@st.composite
def investigations(draw: st.DrawFn) -> InvestigationCompleted:
    return InvestigationCompleted.model_validate(
        {
            "version": "1",
            "type": "investigation.completed",
            "investigation_id": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,254}", fullmatch=True)),
            "tenant_id": "t_acme",
            "cluster": draw(_NAME),
            "workspace": draw(st.none() | _TEXT),
            "alert": {
                "name": draw(_NAME),
                "severity": draw(st.sampled_from(["critical", "warning", "info"])),
                "namespace": draw(st.none() | _TEXT),
                "summary": draw(_long(_NAME)),
                "fired_at": draw(st.datetimes(timezones=st.just(UTC))),
                "labels": draw(st.dictionaries(_TEXT, _long(_TEXT), max_size=30)),
            },
            "root_cause": draw(_long(_NAME)),
            "confidence": draw(st.none() | _TEXT),
            "affected_resources": draw(
                _sized_lists(
                    st.fixed_dictionaries(
                        {"kind": _NAME, "name": _NAME},
                        optional={"namespace": st.none() | _TEXT, "status": st.none() | _TEXT},
                    ),
                    (0, 1, 5, 60),
                )
            ),
            "recommended_actions": draw(
                _sized_lists(
                    st.fixed_dictionaries({"title": _NAME}, optional={"command": _long(_NAME)}),
                    (0, 1, 5, 40),
                )
            ),
            "portal_url": draw(
                st.none() | st.sampled_from(["https://p.example.com/i/1", "http://localhost:3000/x?a=1&b=2"])
            ),
            "test": draw(st.booleans()),
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    inv=investigations(),
    resolved_at=st.none() | st.datetimes(timezones=st.just(UTC)),
    counts=st.dictionaries(
        st.sampled_from(["accurate", "partially_accurate", "needs_improvement"]), st.integers(0, 10**6)
    ),
    resent=st.booleans(),
)
def test_any_investigation_yields_a_message_slack_accepts(
    inv: InvestigationCompleted, resolved_at: datetime | None, counts: dict[str, int], resent: bool
) -> None:
    feedback = FeedbackSummary(counts, "U0ABC", "needs_improvement") if counts else None

    message = build_investigation_message(
        inv, tenant_id="t_acme", resolved_at=resolved_at, feedback=feedback, resent=resent
    )

    # Steer the search towards the biggest messages, where the budget is tight.
    target(float(blocks_char_count(message.blocks)), label="characters in blocks")
    assert_slack_accepts(message)
    assert [e["text"]["text"] for e in block(message, "feedback")["elements"]] == [
        "Accurate",
        "Partially Accurate",
        "Needs Improvement",
    ]
    for token in re.findall(r"<[^>]*>", mrkdwn(message)):
        assert token.startswith(("<!date^", "<https://p.example.com/", "<http://localhost:3000/", "<@U0ABC>")), token
    assert not HIDDEN_CHARACTERS & set(json.dumps(message.as_kwargs(), ensure_ascii=False))
    assert has_block(message, "resent") is resent
    for index, action in enumerate(inv.recommended_actions):
        if not has_block(message, f"action_{index}"):
            break
        shown = command_shown(message, index)
        if shown is not None:  # exactly what was sent, hidden characters aside (and then it says so)
            assert shown == strip_hidden(action.command or "").strip()
            assert ("Hidden characters were removed" in step_line(message, index)) is (shown != action.command.strip())
        elif action.command and strip_hidden(action.command).strip():
            assert "The command is too long to show here — see" in step_line(message, index)


# --- the text helpers ----------------------------------------------------------------------------------


def test_escape_touches_only_the_three_control_characters() -> None:
    assert escape("a & b < c > d \"e\" 'f' *g*") == "a &amp; b &lt; c &gt; d \"e\" 'f' *g*"


@given(text=_TEXT, limit=st.integers(min_value=0, max_value=500))
def test_truncate_never_exceeds_the_limit_nor_splits_an_entity(text: str, limit: int) -> None:
    escaped = escape(text)

    result = truncate(escaped, limit)

    assert slack_len(result) <= limit
    # Whatever remains still decodes cleanly: every "&" starts a whole entity.
    assert re.sub(r"&(amp|lt|gt);", "", result).count("&") == 0
    if slack_len(escaped) <= limit:
        assert result == escaped


def test_truncate_backs_off_before_an_entity() -> None:
    assert truncate("ab &amp; cd", 6) == "ab…"
    assert truncate("ab&amp;cd", 8) == "ab&amp;…"
    assert clip("a&b", 3) == "a…"


def test_truncate_does_not_cut_a_link_we_built() -> None:
    text = "see <https://portal.example.com/x|the portal> now"

    assert truncate(text, 30) == "see…"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("`a` `bbbbbb` c", 8, "`a`…"),
        ("see *Root cause* now", 12, "see…"),
        ("x _Full analysis: see <https://p.example/i|the portal>_", 50, "x…"),
        ("a ```table\nrow 1\nrow 2``` after", 20, "a…"),
        ("*Root cause* · `pod=api` and more words here", 20, "*Root cause* ·…"),
        ("~gone~ *and _nested_ runs* too", 20, "~gone~…"),
    ],
    ids=["inline-code", "bold", "italic-around-a-link", "code-block", "after-closed-runs", "nested"],
)
def test_truncate_never_ends_inside_a_run_it_would_leave_open(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("5 * 3 = 15, and then some more text", 24, "5 * 3 = 15, and then…"),
        ("set my_var_name and other_thing now", 30, "set my_var_name and…"),
        ("a lone ` backtick and more words", 22, "a lone ` backtick and…"),
        ("*not closed on this line\nmore words here", 30, "*not closed on this line\nmore…"),
    ],
    ids=["multiplication", "snake-case", "lone-backtick", "not-closed-on-its-line"],
)
def test_truncate_leaves_markers_that_open_nothing_where_they_are(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


_WORD = st.text(alphabet=st.characters(exclude_characters="`*_~\n", exclude_categories=("Cs",)), min_size=1,
                max_size=12)
_FORMATTED = st.one_of(
    _WORD.map(lambda word: inline_code(word, 80)),
    _WORD.filter(lambda word: word == word.strip()).map(lambda word: f"*{escape(word)}*"),
    _WORD.filter(lambda word: word == word.strip()).map(lambda word: f"_{escape(word)}_"),
    _WORD.map(escape),
    st.sampled_from(["<https://p.example/i|the portal>", "&amp;", "🔥"]),
)


@given(pieces=st.lists(_FORMATTED, max_size=30), limit=st.integers(min_value=0, max_value=300))
def test_truncate_of_runs_we_opened_leaves_each_whole_or_out(pieces: list[str], limit: int) -> None:
    text = " ".join(pieces)

    result = truncate(text, limit)

    kept = result.removesuffix("…")
    assert slack_len(result) <= limit and text.startswith(kept)
    for marker in "`*_":
        assert kept.count(marker) % 2 == 0, (marker, kept)
    assert kept.count("<") == kept.count(">")


def test_hidden_characters_go_in_every_helper_outside_text_passes() -> None:
    raw = "a\u202eb\u200bc\u00add"

    assert strip_hidden(raw) == "abcd"
    assert escape(f"<{raw}>") == "&lt;abcd&gt;"
    assert one_line(f" {raw}\n{raw} ") == "abcd abcd"
    assert truncate_plain(raw, 10) == "abcd"
    assert clip(raw, 10) == "abcd"
    assert inline_code(raw, 10) == "`abcd`"
    assert code_block(raw, 20) == "```abcd```"
    # Removed before escaping: a hidden character cannot split a mention into something escape misses.
    assert escape("<\u200b!channel>") == "&lt;!channel&gt;"


def test_a_backtick_in_a_code_block_becomes_a_look_alike() -> None:
    # Code blocks hold the digest's tables; a backtick from a name would close or merge with the fence.
    assert code_block("``` ns `x` `", 200) == "```ˋˋˋ ns ˋxˋ ˋ```"


def test_code_block_fits_its_limit_and_escapes() -> None:
    block_text = code_block("kubectl get pods | grep '<!channel>' && " + "x" * 500, 100)

    assert slack_len(block_text) <= 100
    assert "&lt;!channel&gt;" in block_text
    assert "&amp;&amp;" in block_text
    assert block_text.endswith("…```")


def test_bullet_list_says_how_many_it_left_out() -> None:
    text, shown = bullet_list([f"item {i}" for i in range(100)], 60, lambda hidden: f"…and {hidden} more")

    assert slack_len(text) <= 60
    assert text.splitlines()[-1] == f"…and {100 - shown} more"
    assert text.splitlines()[0] == "• item 0"


def test_validate_message_reports_every_broken_limit() -> None:
    button = {
        "type": "button",
        "action_id": "a" * 256,
        "text": {"type": "plain_text", "text": "b" * 76},
        "value": "v" * 2001,
    }
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
        {"type": "section", "block_id": "x" * 256, "text": {"type": "mrkdwn", "text": "s" * 3001}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}] * 11},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
        {"type": "actions", "elements": [button] * 26},
        {"type": "section", "text": {"type": "mrkdwn", "text": ""}},
    ] + [{"type": "divider"}] * 45

    problems = "\n".join(validate_message(blocks, ""))

    for expected in (
        "text: must not be empty",
        "blocks: 51 blocks, at most 50",
        "blocks[0].text: 151 characters, at most 150",
        "blocks[1].block_id: 256 characters, at most 255",
        "blocks[1].text: 3001 characters, at most 3000",
        "blocks[2].fields: 11 items, at most 10",
        "blocks[2].fields[0]: 2001 characters, at most 2000",
        "blocks[3].elements: 11 items, at most 10",
        "blocks[4].elements: 26 items, at most 25",
        "blocks[4].elements[0].action_id: 256 characters, at most 255",
        "blocks[4].elements[0].text: 76 characters, at most 75",
        "blocks[4].elements[0].value: 2001 characters, at most 2000",
        "blocks[5].text: text must not be empty",
        f"characters in total, budget {BLOCKS_TOTAL_CHARS_BUDGET}",
    ):
        assert expected in problems


def test_storm_count_line_revised_line_and_alert_links() -> None:
    from sre_slack.domain.grouping import GroupCounts

    document = investigation().model_dump(mode="json")
    document["alert"] |= {"source_url": "https://grafana.example.com/a?b=1&c=2", "runbook_url": "https://rb.example.com/x"}
    message = build(document, group=GroupCounts(41, datetime(2026, 11, 27, 8, 47, tzinfo=UTC), 3),
                    revised_at=datetime(2026, 11, 27, 9, 5, tzinfo=UTC))

    assert block(message, "storm_count")["elements"][0]["text"] == (
        "🧵 +41 similar in thread · latest 08:47 · 3 resolved")
    assert block(message, "revised")["elements"][0]["text"] == "✏️ Updated 09:05 UTC"
    links = block(message, "alert_links")["elements"][0]["text"]
    assert "<https://grafana.example.com/a?b=1&amp;c=2|Alert source>" in links and "|Runbook>" in links
    assert_slack_accepts(message)


def test_thread_reply_is_compact_and_keeps_the_buttons() -> None:
    from sre_slack.blocks.investigation import build_thread_reply

    message = build_thread_reply(investigation(), tenant_id="t_acme")

    ids = [b["block_id"] for b in wire(message)]
    assert "actions_heading" not in ids and "labels" not in ids
    assert block(message, "root_cause")["text"]["text"].startswith("*Root cause* The 2.14 rollout")
    assert "summary" in ids and "resources" in ids and "feedback" in ids
    assert "Deployment" in block(message, "resources")["elements"][0]["text"]
    assert_slack_accepts(message)


def test_revised_note_escapes_and_cuts_the_new_root_cause() -> None:
    from sre_slack.blocks.investigation import build_revised_note

    document = investigation().model_dump(mode="json") | {"root_cause": "<!channel> " + "x" * 5000}
    message = build_revised_note(investigation(document))

    text = block(message, "revised_note")["text"]["text"]
    assert text.startswith("✏️ Root cause revised: &lt;!channel&gt;") and len(text) < 3000
    assert "<!channel>" not in message.text
