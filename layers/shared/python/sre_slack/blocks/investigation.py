"""The investigation message: what an SRE reads in the channel during an incident, often on a phone.

Reading order is the order of need: what fired and how bad (header, summary, where, when), why (root cause),
what to do (recommended actions), what is hit (affected resources), then Acknowledge, the portal link and the
overflow menu (Re-investigate), and the feedback buttons. Once acknowledged, "Acknowledged by" is a status line
under the title (blocks.investigation_actions).

A recommended step is its title line, then its command. The title line says first what a reader must know
before running anything: "⚠️ Changes the cluster" for a command that may (`domain.commands.is_mutating`), and,
once the alert is resolved, that such a step is not needed now (the line is then a greyed context line). The
command is a rich_text block holding it as plain text in a `rich_text_preformatted` element: nothing is
escaped or inserted, so copying it gives exactly the command. A command is never shown cut: one too long for
its cap or for the room left says so and points to the portal. Hidden characters (`text.HIDDEN_CHARACTERS`)
are removed from it like from every outside text; when any were, the step warns that what it shows is not
exactly what the engine sent.

Any input yields a message Slack accepts. Every text from the engine is cleaned of hidden characters,
escaped and truncated; lists are built item by item (no chip or line is cut); and the sections share one
character budget (`limits.BLOCKS_TOTAL_CHARS_BUDGET`, rich_text blocks included) handed out by priority:
header, summary and the fixed parts first, then the start of the root cause, then actions, then resources,
then labels. What does not fit ends in "…and N more — see the portal". `validate_message` runs on the result
as a last guard; should it (or slack_sdk's own validation) ever object, a minimal message (header, summary,
buttons) is sent instead of none. The pieces (`title_block`, `summary_block`, `closing_blocks`, ...) are
slack_sdk blocks that a shorter message, such as a thread reply, can be made of.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, HeaderBlock, SectionBlock

from sre_slack.blocks.feedback_line import (
    FEEDBACK_SUMMARY_BLOCK_ID,
    FeedbackSummary,
    feedback_actions,
    feedback_context_block,
)
from sre_slack.blocks.investigation_actions import (
    PORTAL_ACTION_ID,
    PORTAL_BUTTON_TEXT,
    ROW_BLOCK_ID,
    Acknowledged,
    acknowledged_line,
    investigation_actions,
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
from sre_slack.blocks.message import (
    RESENT_TEXT_PREFIX,
    SlackMessage,
    actions,
    button,
    context,
    header,
    preformatted,
    resent_notice,
    section,
)
from sre_slack.blocks.text import (
    bullet_list,
    clip,
    clip_line,
    escape,
    inline_code,
    link,
    one_line,
    slack_date,
    slack_len,
    strip_hidden,
    truncate,
    truncate_plain,
)
from sre_slack.contracts.buttons import FeedbackButtonValue
from sre_slack.contracts.investigation import AffectedResource, InvestigationCompleted, RecommendedAction
from sre_slack.domain.commands import is_mutating
from sre_slack.domain.durations import duration_between
from sre_slack.domain.grouping import GroupCounts, count_line

SEVERITY_EMOJI = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
TEST_HEADER_PREFIX = "🧪 TEST · "
TEST_NOTICE = "🧪 This is a test from Test Integration"
# Worded as CONTRACT.md has it: the message may be a second copy of one Slack posted after an ambiguous answer.
# Before the title of a step whose command may change the cluster.
MUTATING_WARNING = "⚠️ Changes the cluster"
# Leads the (greyed) title line of such a step once the alert is resolved.
NOT_NEEDED_NOW = "Not needed now: the alert is resolved"
HIDDEN_REMOVED_WARNING = "⚠️ Hidden characters were removed from this command — check it in {portal} before running it"
TOO_LONG_NOTICE = "_The command is too long to show here — see {portal}_"
UNTITLED_STEP = "(untitled step)"
PORTAL_BLOCK_ID = ROW_BLOCK_ID
NO_SUMMARY = "_No summary provided._"

# Our own caps, below Slack's: a phone screen, not the API, is the limit that matters first.
SUMMARY_MAX = 1000
FIELD_VALUE_MAX = 150
ROOT_CAUSE_MAX = SECTION_TEXT_MAX - 100
COMMAND_MAX = 800
ACTION_TITLE_MAX = 200
# A step's title is shortened to fit the room left, but not below this (or its whole length when shorter).
ACTION_TITLE_MIN = 40
MAX_ACTIONS_SHOWN = 10
RESOURCES_MAX = 2500
MAX_RESOURCES_SHOWN = 25
LABELS_MAX = 400
MAX_LABELS_SHOWN = 8
# A label chip shows `key=value` in at most this many characters, and is not worth showing in fewer.
LABEL_WIDTH = 80
LABEL_WIDTH_MIN = 12
# Characters kept back for later sections while earlier ones take theirs, so none is starved entirely.
RESERVE_AFTER_ROOT_CAUSE = 2500
RESERVE_AFTER_ACTIONS = 1200
# Below this an action is not worth showing half of; "…and N more" says it exists instead.
ACTION_MIN = 160
# The longest feedback line block: "Rated *Partially Accurate* by <@W…> · N ratings: …" with large counts.
FEEDBACK_LINE_RESERVE = 260
# The "Acknowledged by" line with the longest user id Slack sends.
ACKNOWLEDGED_LINE_RESERVE = blocks_char_count(acknowledged_line(Acknowledged("W" + "X" * 31, datetime(2026, 1, 1))))
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
    resent: bool = False,
    acknowledged: Acknowledged | None = None,
    revised_at: datetime | None = None,
    group: GroupCounts | None = None,
) -> SlackMessage:
    """Render an investigation (resolved or not, acknowledged or not, with the feedback so far) as a message Slack
    accepts.

    `resent`: this message is posted again after an ambiguous Slack answer (the first attempt may have been
    posted too); it then says so near the top (CONTRACT.md's re-sent line), and in its notification text.
    """
    try:
        target = FeedbackButtonValue(tenant_id=tenant_id, investigation_id=inv.investigation_id)
    except ValidationError as exc:
        # The tenant goes into every button value; it comes from our own store, so this is a bug, not input.
        raise ValueError(f"the buttons cannot name this investigation: {exc}") from exc
    text = fallback_text(inv, resolved=resolved_at is not None)
    if resent:
        text = truncate(RESENT_TEXT_PREFIX + text, FALLBACK_TEXT_MAX)
    try:
        blocks = _full_blocks(inv, target, resolved_at=resolved_at, feedback=feedback, resent=resent,
                              acknowledged=acknowledged, revised_at=revised_at, group=group)
        problems = validate_message(blocks, text)
    except SlackObjectFormationError as exc:  # slack_sdk refused a block while the budget was counted
        problems = [str(exc)]
    if problems:
        blocks = _minimal_blocks(inv, target, resolved_at=resolved_at, feedback=feedback, resent=resent,
                                 acknowledged=acknowledged)
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


def status_blocks(
    inv: InvestigationCompleted,
    *,
    resolved_at: datetime | None,
    resent: bool = False,
    acknowledged: Acknowledged | None = None,
    revised_at: datetime | None = None,
    group: GroupCounts | None = None,
) -> list[ContextBlock]:
    """The context lines under the title: that it is a test, the storm's count line, when it was resolved (and
    after how long), when it was last revised, that it is a re-sent copy, who acknowledged it (last: where the
    click handler inserts that line too)."""
    lines = [context(TEST_NOTICE, block_id="test_marker")] if inv.test else []
    if group is not None and (counted := count_line(group)) is not None:
        lines.append(context(f"🧵 {counted}", block_id="storm_count"))
    if resolved_at is not None:
        lines.append(context(f"✅ Resolved at {slack_date(resolved_at)} · after "
                             f"{duration_between(inv.alert.fired_at, resolved_at)}", block_id="resolved"))
    if revised_at is not None:
        lines.append(context(f"✏️ Updated {revised_at.astimezone(UTC):%H:%M} UTC", block_id="revised"))
    if resent:
        lines.append(resent_notice())
    if acknowledged is not None:
        lines.append(acknowledged_line(acknowledged))
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
        clip(alert.summary.strip(), limit).strip() or NO_SUMMARY,
        block_id="summary",
        fields=[truncate(f"*{name}*\n{value}", SECTION_FIELD_TEXT_MAX) for name, value in fields],
    )


def links_blocks(inv: InvestigationCompleted) -> list[ContextBlock]:
    """The alert's own links (Alertmanager / Grafana, runbook), when the engine sent them."""
    links = []
    if inv.alert.source_url:
        links.append("🔗 " + link(inv.alert.source_url, "Alert source"))
    if inv.alert.runbook_url:
        links.append("📖 " + link(inv.alert.runbook_url, "Runbook"))
    return [context(" · ".join(links), block_id="alert_links")] if links else []


def build_thread_reply(
    inv: InvestigationCompleted,
    *,
    tenant_id: str,
    resolved_at: datetime | None = None,
    feedback: FeedbackSummary | None = None,
    resent: bool = False,
    acknowledged: Acknowledged | None = None,
    revised_at: datetime | None = None,
) -> SlackMessage:
    """A storm member in its group's thread, compactly: title, status lines, summary, links, the start of the root
    cause, the first affected resource, then the same closing rows (Acknowledge, portal, feedback) as a whole
    message."""
    target = FeedbackButtonValue(tenant_id=tenant_id, investigation_id=inv.investigation_id)
    text = fallback_text(inv, resolved=resolved_at is not None)
    if resent:
        text = truncate(RESENT_TEXT_PREFIX + text, FALLBACK_TEXT_MAX)
    blocks: list[Block] = [
        title_block(inv, resolved=resolved_at is not None),
        *status_blocks(inv, resolved_at=resolved_at, resent=resent, acknowledged=acknowledged,
                       revised_at=revised_at),
        summary_block(inv, limit=500),
        *links_blocks(inv),
    ]
    if inv.root_cause.strip():
        # The start of the analysis only: the whole of it is one click away (the portal).
        blocks.append(section(f"*Root cause* {clip(inv.root_cause.strip(), REPLY_ROOT_CAUSE_MAX)}",
                              block_id="root_cause"))
    if inv.affected_resources:
        resources = inv.affected_resources
        more = f" · …and {len(resources) - 1} more" if len(resources) > 1 else ""
        blocks.append(context(_resource_line(resources[0]) + more, block_id="resources"))
    blocks += closing_blocks(inv, target, feedback)
    problems = validate_message(blocks, text)
    if problems:
        raise ValueError("thread reply breaks Slack limits: " + "; ".join(problems[:5]))
    return SlackMessage(text=text, blocks=tuple(blocks))


# How much of the root cause a storm reply shows.
REPLY_ROOT_CAUSE_MAX = 300
# What a note in the investigation's thread may quote of the new root cause.
NOTE_ROOT_CAUSE_MAX = 1500


def build_revised_note(inv: InvestigationCompleted) -> SlackMessage:
    """The thread reply of a re-investigation: what changed."""
    body = clip(inv.root_cause.strip(), NOTE_ROOT_CAUSE_MAX) or "_The investigation no longer reports a root cause._"
    text = f"✏️ Root cause revised: {body}"
    return SlackMessage(text=truncate(escape(one_line("Root cause revised: " + inv.root_cause)), FALLBACK_TEXT_MAX),
                        blocks=(section(truncate(text, SECTION_TEXT_MAX), block_id="revised_note"),))


def build_resolved_note(inv: InvestigationCompleted, resolved_at: datetime) -> SlackMessage:
    """The thread reply of a resolve: after how long."""
    text = f"✅ Resolved after {duration_between(inv.alert.fired_at, resolved_at)}"
    return SlackMessage(text=text, blocks=(section(text, block_id="resolved_note"),))


def portal_actions(portal_url: str) -> ActionsBlock:
    """The "View in portal" link button alone in a row (for a shorter message, such as a thread reply)."""
    # A link button still sends a block_actions payload; the interactions handler acknowledges it.
    return actions(PORTAL_BLOCK_ID, [button(PORTAL_BUTTON_TEXT, action_id=PORTAL_ACTION_ID, url=portal_url)])


def closing_blocks(
    inv: InvestigationCompleted, target: FeedbackButtonValue, feedback: FeedbackSummary | None
) -> list[Block]:
    """What every investigation message ends with: the feedback line (once rated), Acknowledge / portal / ⋯,
    rating buttons."""
    blocks: list[Block] = []
    if feedback is not None and (line := feedback_context_block(feedback)) is not None:
        blocks.append(line)
    blocks.append(investigation_actions(target, inv.portal_url))
    blocks.append(feedback_actions(target))
    return blocks


# --- the whole message, within the budget ------------------------------------------------------------------


def _full_blocks(
    inv: InvestigationCompleted,
    target: FeedbackButtonValue,
    *,
    resolved_at: datetime | None,
    feedback: FeedbackSummary | None,
    resent: bool,
    acknowledged: Acknowledged | None,
    revised_at: datetime | None = None,
    group: GroupCounts | None = None,
) -> list[Block]:
    portal = _portal(inv.portal_url)
    head: list[Block] = [
        title_block(inv, resolved=resolved_at is not None),
        *status_blocks(inv, resolved_at=resolved_at, resent=resent, acknowledged=acknowledged,
                       revised_at=revised_at, group=group),
        summary_block(inv),
        *links_blocks(inv),
    ]
    tail = closing_blocks(inv, target, feedback)
    feedback_line = [block for block in tail if block.block_id == FEEDBACK_SUMMARY_BLOCK_ID]

    remaining = BLOCKS_TOTAL_CHARS_BUDGET - blocks_char_count(head) - blocks_char_count(tail)
    # The feedback handler inserts or replaces the feedback line in the posted blocks without rebuilding
    # them, so room for the longest line is kept even before anyone has rated.
    remaining -= max(0, FEEDBACK_LINE_RESERVE - blocks_char_count(feedback_line))
    # Likewise the "Acknowledged by" line, until it is part of the message.
    if acknowledged is None:
        remaining -= ACKNOWLEDGED_LINE_RESERVE

    root_cause = _root_cause_section(inv, min(ROOT_CAUSE_MAX, remaining - RESERVE_AFTER_ROOT_CAUSE), portal)
    remaining -= blocks_char_count(root_cause)

    action_blocks = _action_blocks(inv, remaining - RESERVE_AFTER_ACTIONS, portal, resolved=resolved_at is not None)
    remaining -= blocks_char_count(action_blocks)

    resources = _resources_section(inv.affected_resources, min(RESOURCES_MAX, remaining), portal)
    remaining -= blocks_char_count(resources)

    labels = _labels_context(inv.alert.labels, min(LABELS_MAX, remaining))
    return [*head, *labels, *root_cause, *action_blocks, *resources, *tail]


def _minimal_blocks(
    inv: InvestigationCompleted,
    target: FeedbackButtonValue,
    *,
    resolved_at: datetime | None,
    feedback: FeedbackSummary | None,
    resent: bool,
    acknowledged: Acknowledged | None,
) -> list[Block]:
    status = status_blocks(inv, resolved_at=None, resent=resent, acknowledged=acknowledged)
    short_summary = section(clip(inv.alert.summary, 500).strip() or NO_SUMMARY, block_id="summary")
    return [
        title_block(inv, resolved=resolved_at is not None),
        *status,
        short_summary,
        *closing_blocks(inv, target, feedback),
    ]


def _root_cause_section(inv: InvestigationCompleted, limit: int, portal: str) -> list[Block]:
    heading = "*Root cause*"
    if inv.confidence and inv.confidence.strip():
        heading += f" · confidence: _{clip_line(inv.confidence, 40)}_"
    room = min(limit, SECTION_TEXT_MAX) - slack_len(heading) - 1 - _block_overhead("root_cause")
    body = escape(inv.root_cause.strip())
    if not body:
        body = "_The investigation did not report a root cause._"
    elif slack_len(body) > room:
        note = f"_Full analysis: see {portal}_"
        body = truncate(body, room - slack_len(note) - 1) + "\n" + note
    body = truncate(body, room)
    if not body:
        return []
    return [section(f"{heading}\n{body}", block_id="root_cause")]


def _action_blocks(inv: InvestigationCompleted, limit: int, portal: str, *, resolved: bool) -> list[Block]:
    recommended = inv.recommended_actions
    if not recommended:
        return []

    def more_line(hidden: int) -> ContextBlock:
        noun = "action" if hidden == 1 else "actions"
        return context(f"…and {hidden} more {noun} — see {portal}", block_id="actions_more")

    heading = section("*Recommended actions*", block_id="actions_heading")
    blocks: list[Block] = [heading]
    used = blocks_char_count(heading)
    shown = 0
    for index, action in enumerate(recommended[:MAX_ACTIONS_SHOWN]):
        hidden_after = len(recommended) - index - 1
        reserve = blocks_char_count(more_line(hidden_after)) if hidden_after else 0
        step = _step_blocks(index, action, limit - used - reserve, portal, resolved=resolved)
        if not step:
            break
        blocks += step
        used += blocks_char_count(step)
        shown += 1
    if shown == 0:
        return []
    if shown < len(recommended):
        blocks.append(more_line(len(recommended) - shown))
    return blocks


def _step_blocks(index: int, action: RecommendedAction, room: int, portal: str, *, resolved: bool) -> list[Block]:
    """One recommended step in at most `room` (the whole-message count): its title line (warnings first), then
    its command as sent, or why it is not shown; [] when not even the title line fits."""
    if room < ACTION_MIN:
        return []
    sent = (action.command or "").strip()
    command = strip_hidden(sent).strip()
    altered = command != sent
    mutating = bool(sent) and (is_mutating(sent) or is_mutating(command))
    lead = f"{index + 1}. " + (f"{MUTATING_WARNING} · " if mutating else "")
    hidden_warning = [HIDDEN_REMOVED_WARNING.format(portal=portal)] if altered else []
    # What to show, best first: the command (with its warning), else that it is too long, and where to see it.
    variants: list[tuple[list[str], str | None]] = []
    if command and slack_len(command) <= COMMAND_MAX:
        variants.append((hidden_warning, command))
    if command:
        variants += [([TOO_LONG_NOTICE.format(portal=where)], None) for where in dict.fromkeys([portal, "the portal"])]
    else:
        variants.append((hidden_warning, None))
    for notes, shown in variants:
        blocks = _fitted_step(f"action_{index}", lead, action.title, notes, shown, room, dimmed=mutating and resolved)
        if blocks:
            return blocks
    return []


def _fitted_step(
    block_id: str, lead: str, title: str, notes: list[str], command: str | None, room: int, *, dimmed: bool
) -> list[Block]:
    """The step's blocks with its title shortened to fit `room`; [] if even ACTION_TITLE_MIN does not fit."""

    def title_line(title_text: str) -> Block:
        if dimmed:
            return context("\n".join([f"_{NOT_NEEDED_NOW}_ · {lead}{title_text}", *notes]), block_id=block_id)
        return section("\n".join([f"*{lead}{title_text}*", *notes]), block_id=block_id)

    command_blocks = [preformatted(command, block_id=f"{block_id}_command")] if command else []
    title_room = min(ACTION_TITLE_MAX, room - blocks_char_count([title_line(""), *command_blocks]))
    whole = clip_line(title, ACTION_TITLE_MAX) or UNTITLED_STEP
    if title_room < min(ACTION_TITLE_MIN, slack_len(whole)):
        return []
    shown = whole if slack_len(whole) <= title_room else clip_line(title, title_room)
    return [title_line(shown), *command_blocks]


def _resources_section(resources: Sequence[AffectedResource], limit: int, portal: str) -> list[Block]:
    if not resources:
        return []
    heading = "*Affected resources*"
    room = min(limit, SECTION_TEXT_MAX) - slack_len(heading) - 1 - _block_overhead("resources")
    if room <= 0:
        return []
    items = [_resource_line(resource) for resource in resources[:MAX_RESOURCES_SHOWN]]
    listing, _ = bullet_list(items, room, lambda hidden: f"…and {hidden} more — see {portal}", total=len(resources))
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

    def more(hidden: int) -> str:
        return f"…and {hidden} more"

    # Chip by chip, each whole (a cut inside one would leave its code span open); when room is short the
    # chips are made narrower, so that at least one fits beside the count of the others.
    width = min(LABEL_WIDTH, room - 2 - (slack_len(more(len(shown))) + 1 if len(shown) > 1 else 0))
    chips = [inline_code(f"{key}={value}", width) for key, value in shown[:MAX_LABELS_SHOWN]]
    if width < LABEL_WIDTH_MIN:
        chips = []
    text, _ = bullet_list(chips, room, more, total=len(shown), bullet="", separator=" ")
    if not text:
        return []
    return [context(text, block_id="labels")]


def _portal(portal_url: str | None) -> str:
    """"the portal", linked unless there is no URL or it is too long to repeat in every mention."""
    if portal_url and len(portal_url) <= PORTAL_LINK_INLINE_MAX:
        return link(portal_url, "the portal")
    return "the portal"


def _block_overhead(block_id: str) -> int:
    """What a one-text section costs in the total count besides its text."""
    return blocks_char_count(section("", block_id=block_id))
