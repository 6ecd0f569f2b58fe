"""The investigation message: what an SRE reads in the channel during an incident, often on a phone.

Reading order is the order of need: what fired and how bad (header, summary, where, when), why (root cause),
what to do (recommended actions, each command in a code block, the ones that change the cluster marked),
what is hit (affected resources), then the portal link and the feedback buttons.

Any input yields a message Slack accepts. Every text from the engine is escaped and truncated, and the
sections share one character budget (`limits.BLOCKS_TOTAL_CHARS_BUDGET`) handed out by priority: header,
summary and the fixed parts first, then the start of the root cause, then actions, then resources, then
labels. What does not fit ends in "…and N more — see the portal". `validate_message` runs on the result as
a last guard; should it ever object, a minimal message (header, summary, buttons) is sent instead of none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sre_slack.blocks.feedback_line import (
    FEEDBACK_BLOCK_ID,
    RATING_LABELS,
    RATINGS,
    FeedbackSummary,
    action_id_for,
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
from sre_slack.contracts.investigation import SAFE_ID_PATTERN, AffectedResource, InvestigationCompleted
from sre_slack.domain.commands import is_mutating

SEVERITY_EMOJI = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
TEST_HEADER_PREFIX = "🧪 TEST · "
TEST_NOTICE = "🧪 This is a test from Test Integration"
MUTATING_MARK = "⚠️ _changes the cluster — review before running_"
PORTAL_BLOCK_ID = "portal"
PORTAL_ACTION_ID = "open_portal"
PORTAL_BUTTON_TEXT = "View in portal"

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
_SAFE_ID = re.compile(SAFE_ID_PATTERN)


@dataclass(frozen=True)
class SlackMessage:
    """A message ready for chat.postMessage / chat.update."""

    text: str
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def build_investigation_message(
    inv: InvestigationCompleted,
    *,
    tenant_id: str,
    resolved_at: datetime | None = None,
    feedback: FeedbackSummary | None = None,
) -> SlackMessage:
    """Render an investigation (resolved or not, with the feedback so far) as a message Slack accepts."""
    if not _SAFE_ID.match(tenant_id):
        # The tenant goes into every button value; it comes from our own store, so this is a bug, not input.
        raise ValueError("tenant_id is not a valid id")
    text = fallback_text(inv, resolved=resolved_at is not None)
    blocks = _full_blocks(inv, tenant_id=tenant_id, resolved_at=resolved_at, feedback=feedback)
    if validate_message(blocks, text):
        blocks = _minimal_blocks(inv, tenant_id=tenant_id, resolved_at=resolved_at, feedback=feedback)
        problems = validate_message(blocks, text)
        if problems:
            raise ValueError("investigation message breaks Slack limits: " + "; ".join(problems[:5]))
    return SlackMessage(text=text, blocks=blocks)


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


# --- blocks ----------------------------------------------------------------------------------------------


def _full_blocks(
    inv: InvestigationCompleted,
    *,
    tenant_id: str,
    resolved_at: datetime | None,
    feedback: FeedbackSummary | None,
) -> list[dict[str, Any]]:
    portal_more = _portal_more(inv.portal_url)
    head = [_header(inv, resolved=resolved_at is not None)]
    if inv.test:
        head.append(_context("test_marker", TEST_NOTICE))
    if resolved_at is not None:
        head.append(_context("resolved", f"✅ Resolved at {slack_date(resolved_at)}"))
    head.append(_summary_section(inv))
    tail: list[dict[str, Any]] = []
    feedback_block = feedback_context_block(feedback) if feedback is not None else None
    feedback_shown = feedback_block is not None
    if feedback_block is not None:
        tail.append(feedback_block)
    if inv.portal_url:
        tail.append(_portal_actions(inv.portal_url))
    tail.append(_feedback_actions(tenant_id, inv.investigation_id))

    remaining = BLOCKS_TOTAL_CHARS_BUDGET - blocks_char_count(head) - blocks_char_count(tail)
    # The feedback handler inserts or replaces the feedback line in the posted blocks without rebuilding
    # them, so room for the longest line is kept even before anyone has rated.
    remaining -= max(0, FEEDBACK_LINE_RESERVE - blocks_char_count(tail[0] if feedback_shown else []))

    root_cause = _root_cause_section(inv, min(ROOT_CAUSE_MAX, remaining - RESERVE_AFTER_ROOT_CAUSE), portal_more)
    remaining -= blocks_char_count(root_cause)

    actions = _action_blocks(inv, remaining - RESERVE_AFTER_ACTIONS, portal_more)
    remaining -= blocks_char_count(actions)

    resources = _resources_section(inv.affected_resources, min(RESOURCES_MAX, remaining), portal_more)
    remaining -= blocks_char_count(resources)

    labels = _labels_context(inv.alert.labels, min(LABELS_MAX, remaining))
    return [*head, *labels, *root_cause, *actions, *resources, *tail]


def _minimal_blocks(
    inv: InvestigationCompleted,
    *,
    tenant_id: str,
    resolved_at: datetime | None,
    feedback: FeedbackSummary | None,
) -> list[dict[str, Any]]:
    blocks = [_header(inv, resolved=resolved_at is not None)]
    if inv.test:
        blocks.append(_context("test_marker", TEST_NOTICE))
    blocks.append(_section("summary", clip(inv.alert.summary, 500) or "_No summary provided._"))
    if feedback is not None and (feedback_block := feedback_context_block(feedback)) is not None:
        blocks.append(feedback_block)
    if inv.portal_url:
        blocks.append(_portal_actions(inv.portal_url))
    blocks.append(_feedback_actions(tenant_id, inv.investigation_id))
    return blocks


def _header(inv: InvestigationCompleted, *, resolved: bool) -> dict[str, Any]:
    # plain_text: Slack parses nothing here, so the name is shown as sent, not escaped.
    prefix = TEST_HEADER_PREFIX if inv.test else ""
    prefix += "✅ Resolved: " if resolved else f"{SEVERITY_EMOJI[inv.alert.severity]} "
    text = truncate_plain(prefix + one_line(inv.alert.name), HEADER_TEXT_MAX)
    return {"type": "header", "block_id": "title", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _summary_section(inv: InvestigationCompleted) -> dict[str, Any]:
    alert = inv.alert
    fields = [("Severity", f"{SEVERITY_EMOJI[alert.severity]} {alert.severity.capitalize()}")]
    fields.append(("Cluster", clip_line(inv.cluster, FIELD_VALUE_MAX)))
    if alert.namespace and alert.namespace.strip():
        fields.append(("Namespace", clip_line(alert.namespace, FIELD_VALUE_MAX)))
    if inv.workspace and inv.workspace.strip():
        fields.append(("Workspace", clip_line(inv.workspace, FIELD_VALUE_MAX)))
    fields.append(("Fired at", slack_date(alert.fired_at)))
    summary = clip(alert.summary.strip(), SUMMARY_MAX) or "_No summary provided._"
    return {
        "type": "section",
        "block_id": "summary",
        "text": {"type": "mrkdwn", "text": summary},
        "fields": [
            {"type": "mrkdwn", "text": truncate(f"*{name}*\n{value}", SECTION_FIELD_TEXT_MAX)} for name, value in fields
        ],
    }


def _root_cause_section(inv: InvestigationCompleted, limit: int, portal_more: str) -> list[dict[str, Any]]:
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
    return [_section("root_cause", f"{heading}\n{body}")]


def _action_blocks(inv: InvestigationCompleted, limit: int, portal_more: str) -> list[dict[str, Any]]:
    actions = inv.recommended_actions
    if not actions:
        return []

    def more_line(hidden: int) -> dict[str, Any]:
        noun = "action" if hidden == 1 else "actions"
        return _context("actions_more", f"…and {hidden} more {noun} — {portal_more}")

    heading = _section("actions_heading", "*Recommended actions*")
    blocks = [heading]
    used = blocks_char_count(heading)
    for index, action in enumerate(actions[:MAX_ACTIONS_SHOWN]):
        hidden_after = len(actions) - index - 1
        reserve = blocks_char_count(more_line(hidden_after)) if hidden_after else 0
        room = min(SECTION_TEXT_MAX, limit - used - reserve - _block_overhead(f"action_{index}"))
        if room < ACTION_MIN:
            break
        block = _section(f"action_{index}", _action_text(index + 1, action.title, action.command, room))
        blocks.append(block)
        used += blocks_char_count(block)
    shown = len(blocks) - 1
    if shown == 0:
        return []
    if shown < len(actions):
        blocks.append(more_line(len(actions) - shown))
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


def _resources_section(resources: Sequence[AffectedResource], limit: int, portal_more: str) -> list[dict[str, Any]]:
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
    return [_section("resources", f"{heading}\n{listing}")]


def _resource_line(resource: AffectedResource) -> str:
    name = clip_line(resource.name, 120)
    if resource.namespace and resource.namespace.strip():
        name = f"{clip_line(resource.namespace, 63)}/{name}"
    line = f"*{clip_line(resource.kind, 40)}* {name}"
    if resource.status and resource.status.strip():
        line += f" · _{clip_line(resource.status, 80)}_"
    return line


def _labels_context(labels: dict[str, str], limit: int) -> list[dict[str, Any]]:
    shown = [(key, value) for key, value in labels.items() if key not in _REDUNDANT_LABELS]
    if not shown:
        return []
    room = limit - blocks_char_count(_context("labels", ""))
    items = [inline_code(f"{key}={value}", 80) for key, value in shown[:MAX_LABELS_SHOWN]]
    hidden = len(shown) - len(items)
    text = truncate(" ".join(items) + (f" …and {hidden} more" if hidden else ""), room)
    if not text:
        return []
    return [_context("labels", text)]



def _feedback_actions(tenant_id: str, investigation_id: str) -> dict[str, Any]:
    value = FeedbackButtonValue(tenant_id=tenant_id, investigation_id=investigation_id).encode()
    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": action_id_for(rating),
                "text": {"type": "plain_text", "text": RATING_LABELS[rating], "emoji": True},
                "value": value,
            }
            for rating in RATINGS
        ],
    }


def _portal_actions(portal_url: str) -> dict[str, Any]:
    # A link button still sends a block_actions payload; the interactions handler acknowledges it.
    return {
        "type": "actions",
        "block_id": PORTAL_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": PORTAL_ACTION_ID,
                "text": {"type": "plain_text", "text": PORTAL_BUTTON_TEXT, "emoji": True},
                "url": portal_url,
            }
        ],
    }


def _portal_more(portal_url: str | None) -> str:
    if portal_url and len(portal_url) <= PORTAL_LINK_INLINE_MAX:
        return f"see {link(portal_url, 'the portal')}"
    return "see the portal"


def _section(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}


def _context(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "context", "block_id": block_id, "elements": [{"type": "mrkdwn", "text": text}]}


def _block_overhead(block_id: str) -> int:
    """What a one-text section costs in the total count besides its text."""
    return blocks_char_count({"type": "section", "block_id": block_id, "text": {"type": "mrkdwn"}})
