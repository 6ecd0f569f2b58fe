"""The investigation message: what an SRE reads in the channel during an incident, often on a phone.

Reading order is the order of need: what fired and how bad (header, summary, where, when), why (root cause),
what to do (recommended actions, each command in a code block, the ones that change the cluster marked),
what is hit (affected resources), then the portal link and the feedback buttons.

Any input yields a message Slack accepts. Every text from the engine is escaped and truncated, and the
sections share one character budget (`limits.BLOCKS_TOTAL_CHARS_BUDGET`) handed out by priority: header,
summary and the fixed parts first, then the start of the root cause, then actions, then resources, then
labels. What does not fit ends in "…and N more — see the portal". `validate_message` runs on the result as
a last guard; should it (or slack_sdk's own validation) ever object, a minimal message (header, summary,
buttons) is sent instead of none. The pieces (`title_block`, `summary_block`, `closing_blocks`, ...) are
slack_sdk blocks that a shorter message, such as a thread reply, can be made of.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, HeaderBlock, SectionBlock

from sre_slack.blocks.feedback_line import (
    FEEDBACK_SUMMARY_BLOCK_ID,
    FeedbackSummary,
    feedback_actions,
    feedback_context_block,
)
from sre_slack.blocks.limits import (
    BLOCKS_TOTAL_CHARS_BUDGET,
    FALLBACK_TEXT_MAX,
    HEADER_TEXT_MAX,
    SECTION_FIELD_TEXT_MAX,
    SECTION_TEXT_MAX,
    blocks_char_count,
    validate_message,
)
from sre_slack.blocks.message import SlackMessage, actions, button, context, header, section
from sre_slack.blocks.text import (
    bullet_list,
    clip,
    clip_line,
    code_block,
    escape,
    inline_code,
    link,
    one_line,
    slack_date,
    slack_len,
    truncate,
    truncate_plain,
)
from sre_slack.contracts.buttons import FeedbackButtonValue
from sre_slack.contracts.investigation import AffectedResource, InvestigationCompleted
from sre_slack.domain.commands import is_mutating

SEVERITY_EMOJI = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
TEST_HEADER_PREFIX = "🧪 TEST · "
TEST_NOTICE = "🧪 This is a test from Test Integration"
MUTATING_MARK = "⚠️ _changes the cluster — review before running_"
PORTAL_BLOCK_ID = "portal"
PORTAL_ACTION_ID = "open_portal"
PORTAL_BUTTON_TEXT = "View in portal"
NO_SUMMARY = "_No summary provided._"

# Our own caps, below Slack's: a phone screen, not the API, is the limit that matters first.
SUMMARY_MAX = 1000
FIELD_VALUE_MAX = 150
ROOT_CAUSE_MAX = SECTION_TEXT_MAX - 100
COMMAND_MAX = 800
ACTION_TITLE_MAX = 200
MAX_ACTIONS_SHOWN = 10
RESOURCES_MAX = 2500
MAX_RESOURCES_SHOWN = 25
LABELS_MAX = 400
MAX_LABELS_SHOWN = 8
# Characters kept back for later sections while earlier ones take theirs, so none is starved entirely.
RESERVE_AFTER_ROOT_CAUSE = 2500
RESERVE_AFTER_ACTIONS = 1200
# Below this an action is not worth showing half of; "…and N more" says it exists instead.
ACTION_MIN = 160
# The longest feedback line block: "Rated *Partially Accurate* by <@W…> · N ratings: …" with large counts.
FEEDBACK_LINE_RESERVE = 260
# A portal URL longer than this is only on the button, not repeated in every "see the portal".
PORTAL_LINK_INLINE_MAX = 300
# Label keys that repeat what the message already shows.
_REDUNDANT_LABELS = frozenset({"alertname", "severity", "namespace", "cluster"})


def build_investigation_message(
    inv: InvestigationCompleted,
    *,
    tenant_id: str,
    resolved_at: datetime | None = None,
    feedback: FeedbackSummary | None = None,
) -> SlackMessage:
    """Render an investigation (resolved or not, with the feedback so far) as a message Slack accepts."""
    try:
        target = FeedbackButtonValue(tenant_id=tenant_id, investigation_id=inv.investigation_id)
    except ValidationError as exc:
        # The tenant goes into every button value; it comes from our own store, so this is a bug, not input.
        raise ValueError(f"the buttons cannot name this investigation: {exc}") from exc
    text = fallback_text(inv, resolved=resolved_at is not None)
    try:
        blocks = _full_blocks(inv, target, resolved_at=resolved_at, feedback=feedback)
        problems = validate_message(blocks, text)
    except SlackObjectFormationError as exc:  # slack_sdk refused a block while the budget was counted
        problems = [str(exc)]
    if problems:
        blocks = _minimal_blocks(inv, target, resolved_at=resolved_at, feedback=feedback)
        problems = validate_message(blocks, text)
        if problems:
            raise ValueError("investigation message breaks Slack limits: " + "; ".join(problems[:5]))
    return SlackMessage(text=text, blocks=tuple(blocks))


def fallback_text(inv: InvestigationCompleted, *, resolved: bool = False) -> str:
    """The one-line notification text, e.g. "🔴 [critical] KubePodCrashLooping on prod/payments: Pod …"."""
    alert = inv.alert
    where = inv.cluster if not alert.namespace else f"{inv.cluster}/{alert.namespace}"
    line = f"{SEVERITY_EMOJI[alert.severity]} [{alert.severity}] {alert.name} on {where}"
    if alert.summary.strip():
        line += f": {alert.summary}"
    if resolved:
        line = f"✅ Resolved: {line}"
    if inv.test:
        line = f"[TEST] {line}"
    return truncate(escape(one_line(line)), FALLBACK_TEXT_MAX)


# --- the pieces (a shorter message, such as a thread reply, is made of the same) ---------------------------


def title_block(inv: InvestigationCompleted, *, resolved: bool) -> HeaderBlock:
    """The header: "🔴 KubePodCrashLooping" or "✅ Resolved: …", after "🧪 TEST · " for a test investigation."""
    # plain_text: Slack parses nothing here, so the name is shown as sent, not escaped.
    prefix = TEST_HEADER_PREFIX if inv.test else ""
    prefix += "✅ Resolved: " if resolved else f"{SEVERITY_EMOJI[inv.alert.severity]} "
    return header(truncate_plain(prefix + one_line(inv.alert.name), HEADER_TEXT_MAX), block_id="title")


def status_blocks(inv: InvestigationCompleted, *, resolved_at: datetime | None) -> list[ContextBlock]:
    """The context lines under the title: that it is a test, and when it was resolved."""
    lines = [context(TEST_NOTICE, block_id="test_marker")] if inv.test else []
    if resolved_at is not None:
        lines.append(context(f"✅ Resolved at {slack_date(resolved_at)}", block_id="resolved"))
    return lines


def summary_block(inv: InvestigationCompleted, *, limit: int = SUMMARY_MAX) -> SectionBlock:
    """The alert summary with severity, cluster, namespace, workspace and when it fired beside it."""
    alert = inv.alert
    fields = [("Severity", f"{SEVERITY_EMOJI[alert.severity]} {alert.severity.capitalize()}")]
    fields.append(("Cluster", clip_line(inv.cluster, FIELD_VALUE_MAX)))
    if alert.namespace and alert.namespace.strip():
        fields.append(("Namespace", clip_line(alert.namespace, FIELD_VALUE_MAX)))
    if inv.workspace and inv.workspace.strip():
        fields.append(("Workspace", clip_line(inv.workspace, FIELD_VALUE_MAX)))
    fields.append(("Fired at", slack_date(alert.fired_at)))
    return section(
        clip(alert.summary.strip(), limit) or NO_SUMMARY,
        block_id="summary",
        fields=[truncate(f"*{name}*\n{value}", SECTION_FIELD_TEXT_MAX) for name, value in fields],
    )


def portal_actions(portal_url: str) -> ActionsBlock:
    """The "View in portal" link button, in its own row above the rating buttons."""
    # A link button still sends a block_actions payload; the interactions handler acknowledges it.
    return actions(PORTAL_BLOCK_ID, [button(PORTAL_BUTTON_TEXT, action_id=PORTAL_ACTION_ID, url=portal_url)])


def closing_blocks(
    inv: InvestigationCompleted, target: FeedbackButtonValue, feedback: FeedbackSummary | None
) -> list[Block]:
    """What every investigation message ends with: the feedback line (once rated), portal, rating buttons."""
    blocks: list[Block] = []
    if feedback is not None and (line := feedback_context_block(feedback)) is not None:
        blocks.append(line)
    if inv.portal_url:
        blocks.append(portal_actions(inv.portal_url))
    blocks.append(feedback_actions(target))
    return blocks


# --- the whole message, within the budget ------------------------------------------------------------------


def _full_blocks(
    inv: InvestigationCompleted,
    target: FeedbackButtonValue,
    *,
    resolved_at: datetime | None,
    feedback: FeedbackSummary | None,
) -> list[Block]:
    portal_more = _portal_more(inv.portal_url)
    head: list[Block] = [
        title_block(inv, resolved=resolved_at is not None),
        *status_blocks(inv, resolved_at=resolved_at),
        summary_block(inv),
    ]
    tail = closing_blocks(inv, target, feedback)
    feedback_line = [block for block in tail if block.block_id == FEEDBACK_SUMMARY_BLOCK_ID]

    remaining = BLOCKS_TOTAL_CHARS_BUDGET - blocks_char_count(head) - blocks_char_count(tail)
    # The feedback handler inserts or replaces the feedback line in the posted blocks without rebuilding
    # them, so room for the longest line is kept even before anyone has rated.
    remaining -= max(0, FEEDBACK_LINE_RESERVE - blocks_char_count(feedback_line))

    root_cause = _root_cause_section(inv, min(ROOT_CAUSE_MAX, remaining - RESERVE_AFTER_ROOT_CAUSE), portal_more)
    remaining -= blocks_char_count(root_cause)

    action_blocks = _action_blocks(inv, remaining - RESERVE_AFTER_ACTIONS, portal_more)
    remaining -= blocks_char_count(action_blocks)

    resources = _resources_section(inv.affected_resources, min(RESOURCES_MAX, remaining), portal_more)
    remaining -= blocks_char_count(resources)

    labels = _labels_context(inv.alert.labels, min(LABELS_MAX, remaining))
    return [*head, *labels, *root_cause, *action_blocks, *resources, *tail]


def _minimal_blocks(
    inv: InvestigationCompleted,
    target: FeedbackButtonValue,
    *,
    resolved_at: datetime | None,
    feedback: FeedbackSummary | None,
) -> list[Block]:
    test_marker = status_blocks(inv, resolved_at=None)
    short_summary = section(clip(inv.alert.summary, 500) or NO_SUMMARY, block_id="summary")
    return [
        title_block(inv, resolved=resolved_at is not None),
        *test_marker,
        short_summary,
        *closing_blocks(inv, target, feedback),
    ]


def _root_cause_section(inv: InvestigationCompleted, limit: int, portal_more: str) -> list[Block]:
    heading = "*Root cause*"
    if inv.confidence and inv.confidence.strip():
        heading += f" · confidence: _{clip_line(inv.confidence, 40)}_"
    room = min(limit, SECTION_TEXT_MAX) - slack_len(heading) - 1 - _block_overhead("root_cause")
    body = escape(inv.root_cause.strip())
    if not body:
        body = "_The investigation did not report a root cause._"
    elif slack_len(body) > room:
        note = f"_Full analysis: {portal_more}_"
        body = truncate(body, room - slack_len(note) - 1) + "\n" + note
    body = truncate(body, room)
    if not body:
        return []
    return [section(f"{heading}\n{body}", block_id="root_cause")]


def _action_blocks(inv: InvestigationCompleted, limit: int, portal_more: str) -> list[Block]:
    recommended = inv.recommended_actions
    if not recommended:
        return []

    def more_line(hidden: int) -> ContextBlock:
        noun = "action" if hidden == 1 else "actions"
        return context(f"…and {hidden} more {noun} — {portal_more}", block_id="actions_more")

    heading = section("*Recommended actions*", block_id="actions_heading")
    blocks: list[Block] = [heading]
    used = blocks_char_count(heading)
    for index, action in enumerate(recommended[:MAX_ACTIONS_SHOWN]):
        hidden_after = len(recommended) - index - 1
        reserve = blocks_char_count(more_line(hidden_after)) if hidden_after else 0
        room = min(SECTION_TEXT_MAX, limit - used - reserve - _block_overhead(f"action_{index}"))
        if room < ACTION_MIN:
            break
        block = section(_action_text(index + 1, action.title, action.command, room), block_id=f"action_{index}")
        blocks.append(block)
        used += blocks_char_count(block)
    shown = len(blocks) - 1
    if shown == 0:
        return []
    if shown < len(recommended):
        blocks.append(more_line(len(recommended) - shown))
    return blocks


def _action_text(number: int, title: str, command: str | None, limit: int) -> str:
    head = f"*{number}. {clip_line(title, ACTION_TITLE_MAX)}*"
    if not command or not command.strip():
        return truncate(head, limit)
    mark = f"\n{MUTATING_MARK}" if is_mutating(command) else ""
    room = min(COMMAND_MAX, limit - slack_len(head) - slack_len(mark) - 1)
    block = code_block(command.strip(), room)
    if not block:
        return truncate(head + mark, limit)
    return f"{head}\n{block}{mark}"


def _resources_section(resources: Sequence[AffectedResource], limit: int, portal_more: str) -> list[Block]:
    if not resources:
        return []
    heading = "*Affected resources*"
    room = min(limit, SECTION_TEXT_MAX) - slack_len(heading) - 1 - _block_overhead("resources")
    if room <= 0:
        return []
    items = [_resource_line(resource) for resource in resources[:MAX_RESOURCES_SHOWN]]
    listing, _ = bullet_list(items, room, lambda hidden: f"…and {hidden} more — {portal_more}", total=len(resources))
    if not listing:
        return []
    return [section(f"{heading}\n{listing}", block_id="resources")]


def _resource_line(resource: AffectedResource) -> str:
    name = clip_line(resource.name, 120)
    if resource.namespace and resource.namespace.strip():
        name = f"{clip_line(resource.namespace, 63)}/{name}"
    line = f"*{clip_line(resource.kind, 40)}* {name}"
    if resource.status and resource.status.strip():
        line += f" · _{clip_line(resource.status, 80)}_"
    return line


def _labels_context(labels: dict[str, str], limit: int) -> list[Block]:
    shown = [(key, value) for key, value in labels.items() if key not in _REDUNDANT_LABELS]
    if not shown:
        return []
    room = limit - blocks_char_count(context("", block_id="labels"))
    items = [inline_code(f"{key}={value}", 80) for key, value in shown[:MAX_LABELS_SHOWN]]
    hidden = len(shown) - len(items)
    text = truncate(" ".join(items) + (f" …and {hidden} more" if hidden else ""), room)
    if not text:
        return []
    return [context(text, block_id="labels")]



def _portal_more(portal_url: str | None) -> str:
    if portal_url and len(portal_url) <= PORTAL_LINK_INLINE_MAX:
        return f"see {link(portal_url, 'the portal')}"
    return "see the portal"


def _block_overhead(block_id: str) -> int:
    """What a one-text section costs in the total count besides its text."""
    return blocks_char_count(section("", block_id=block_id))

