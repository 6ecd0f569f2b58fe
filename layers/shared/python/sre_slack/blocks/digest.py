"""The daily digest as a Block Kit message: the change first, then where it came from.

Readers act on the difference ("3 memory alerts yesterday, 7 today", an alert type that did not exist the
day before), so every count is shown with its change, and "What changed" lists alert types by movement.

Every name in the message (namespace, alert type, cluster, tenant) comes from outside and is escaped; each is
also cut to a fixed width, and every list is capped by count and by length, so that a tenant with thousands
of namespaces and alert types with 300-character names still gets a message Slack accepts
(`validate_message` finds nothing). Tables sit in code blocks so their columns line up on phones too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from slack_sdk.models.blocks import Block, SectionBlock

from sre_slack.blocks import digest_phrases as phrase
from sre_slack.blocks.limits import SECTION_TEXT_MAX
from sre_slack.blocks.message import RESENT_TEXT_PREFIX, SlackMessage, context, header, resent_notice, section
from sre_slack.blocks.text import (
    bullet_list,
    clip_line,
    code_block,
    inline_code,
    link,
    one_line,
    slack_len,
    truncate,
    truncate_plain,
)
from sre_slack.domain.digest_stats import Breakdown, Change, Digest, NamedChange, ResolveTimes, Storm

# Visible width of a name in a table row, and of a name listed under "What changed": short enough that a
# row ("payments-api  1,234  ▲ +56 (+5%)") fits a phone screen without wrapping.
TABLE_NAME_WIDTH = 22
# Alert names run longer than namespaces ("ContainerMemoryNearLimit"); the "Top alerts" table gives them room.
ALERT_TABLE_NAME_WIDTH = 30
LISTED_NAME_WIDTH = 40
TENANT_NAME_WIDTH = 80
# Room for each "What changed" category, so that all four fit one section however hostile the names.
CATEGORY_CHARS = (SECTION_TEXT_MAX - 100) // 4


def build_digest_message(
    digest: Digest, *, tenant_name: str | None = None, portal_url: str | None = None, resent: bool = False
) -> SlackMessage:
    """The digest message for one tenant; `portal_url` (our own configuration) adds a link to the portal;
    `resent` says it may be a second copy (posted again after an ambiguous Slack answer)."""
    # The title holds no outside text (and a header is plain_text, which Slack does not parse anyway).
    blocks: list[Block] = [header(phrase.title(digest.day)), *([resent_notice()] if resent else []),
                           context(_about(digest, tenant_name))]

    if digest.quiet:
        # One line instead of a column of "0 ▼ -100%"; what still happened that day follows.
        blocks.append(_section(phrase.quiet_line(digest)))
        if digest.resolve_times is not None:
            blocks.append(_section(_resolve_times(digest.resolve_times)))
        if any(digest.week.totals):
            blocks.append(_section(_week(digest)))
    else:
        blocks.append(_section(_totals(digest)))
        if namespace_rows := _namespace_rows(digest):
            blocks.append(_section(f"*By namespace*\n{_table(namespace_rows)}"))
        if digest.clusters is not None:
            rows = _breakdown_rows(digest.clusters, "cluster")
            blocks.append(_section(f"*By cluster*\n{_table(rows)}"))
        if digest.top_alerts:
            blocks.append(_section(_top_alerts(digest)))
        if digest.storms:
            blocks.append(_section(_storms(digest.storms)))
        blocks.append(_section(_what_changed(digest)))
        if digest.resolve_times is not None:
            blocks.append(_section(_resolve_times(digest.resolve_times)))
        blocks.append(_section(_week(digest)))
        if (accuracy := phrase.accuracy_line(digest)) is not None:
            blocks.append(_section(accuracy))

    footer = [] if digest.quiet else [phrase.LEGEND]
    if portal_url:
        footer.append(link(portal_url, "Open the portal"))
    if footer:
        blocks.append(context(" · ".join(footer)))
    text = phrase.fallback_text(digest)
    return SlackMessage(text=RESENT_TEXT_PREFIX + text if resent else text, blocks=tuple(blocks))


def _about(digest: Digest, tenant_name: str | None) -> str:
    scope = f"All clusters · UTC day {digest.day.isoformat()}"
    if tenant_name and tenant_name.strip():
        return f"*{clip_line(tenant_name, TENANT_NAME_WIDTH)}* · {scope}"
    return scope


def _totals(digest: Digest) -> str:
    total = digest.total
    headline = f"*{phrase.alerts(total.current)}* {phrase.comparison(total, 'the day before')}"
    rows = [(s.name, s.change.current, s.change) for s in digest.severities]
    return f"{headline}\n{_table(rows)}"


def _breakdown_rows(breakdown: Breakdown, noun: str) -> list[tuple[str, int, Change]]:
    """Table rows with outside names cut to TABLE_NAME_WIDTH; the "others (N namespaces)" label is ours."""
    # Still raw here (code_block escapes), so the cut is a plain one.
    rows = [(truncate_plain(one_line(r.name), TABLE_NAME_WIDTH), r.change.current, r.change) for r in breakdown.top]
    if breakdown.others is not None:
        others = breakdown.others
        rows.append((phrase.others_label(others.names, noun), others.change.current, others.change))
    return rows


def _namespace_rows(digest: Digest) -> list[tuple[str, int, Change]]:
    rows = _breakdown_rows(digest.namespaces, "namespace")
    unnamed = digest.without_namespace
    if unnamed.current or unnamed.previous:
        rows.append((phrase.WITHOUT_NAMESPACE, unnamed.current, unnamed))
    return rows


def _table(rows: Sequence[tuple[str, int, Change]]) -> str:
    """Aligned rows 'name  count  change' in a code block (labels already short and still raw)."""
    width = max(len(label) for label, _, _ in rows)
    digits = max(len(phrase.count(n)) for _, n, _ in rows)
    lines = [
        f"{label:<{width}}  {phrase.count(n):>{digits}}  {phrase.change_text(change)}"
        for label, n, change in rows
    ]
    # code_block escapes; escaping keeps the visible width of every row, so the columns survive it.
    return code_block("\n".join(lines), SECTION_TEXT_MAX - 200)


def _name(raw: str) -> str:
    """An outside name as inline code, escaped and cut to a readable width."""
    return inline_code(raw, LISTED_NAME_WIDTH)


def _listed(rows: Sequence[NamedChange], render: Callable[[NamedChange], str], marker: str, noun: str) -> str:
    """Up to LISTED_TYPES rows, one per line, within CATEGORY_CHARS; the rest counted in a last line."""
    items = [render(r) for r in rows[: phrase.LISTED_TYPES]]
    not_passed = len(rows) - len(items)

    def more(hidden: int) -> str:
        return f"…and {hidden:,} more {noun}"

    reserve = slack_len(more(len(rows))) + 1 if not_passed else 0
    text, shown = bullet_list(
        items, CATEGORY_CHARS - reserve, lambda hidden: more(hidden + not_passed), bullet=f"{marker} "
    )
    if not_passed and shown == len(items):
        text = f"{text}\n{more(not_passed)}" if text else more(not_passed)
    return text


def _new(row: NamedChange) -> str:
    return f"{_name(row.name)} new: {phrase.alerts(row.change.current)}"


def _moved(row: NamedChange) -> str:
    return phrase.mover(row, _name(row.name))


def _gone(row: NamedChange) -> str:
    return f"{_name(row.name)} gone quiet: {phrase.count(row.change.previous)} the day before, none now"


def _what_changed(digest: Digest) -> str:
    changes = digest.changes
    if not changes.anything:
        return "*What changed*\nSame alert types as the day before, same counts."
    parts = [
        "*What changed*",
        _listed(changes.new, _new, phrase.ARROWS["new"], "new alert types"),
        _listed(changes.risers, _moved, phrase.ARROWS["up"], "rising"),
        _listed(changes.fallers, _moved, phrase.ARROWS["down"], "falling"),
        _listed(changes.gone_quiet, _gone, "💤", "gone quiet"),
    ]
    return "\n".join(part for part in parts if part)


def _week(digest: Digest) -> str:
    week = digest.week
    totals = week.totals
    bars = f"`{week.sparkline}`"
    span = f"{phrase.short_day(week.days[0])} – {phrase.short_day(week.days[-1])}"
    scale = f"low {phrase.count(min(totals))}, high {phrase.count(max(totals))}"
    return f"*Last 7 days* {bars}  {span} ({scale})\n{phrase.week_over_week(digest)}"


def _top_alerts(digest: Digest) -> str:
    # Still raw here (code_block escapes), so the cut is a plain one.
    rows = [(truncate_plain(one_line(r.name), ALERT_TABLE_NAME_WIDTH), r.change.current, r.change)
            for r in digest.top_alerts]
    return f"*{phrase.TOP_ALERTS}*\n{_table(rows)}"


def _storms(storms: Sequence[Storm]) -> str:
    lines = [phrase.storm_line(s, _name(s.alert), _name(s.namespace) if s.namespace else phrase.WITHOUT_NAMESPACE,
                               _name(s.cluster)) for s in storms]
    return "\n".join([f"*{phrase.STORMS}* (alike alerts: same cluster, alert and namespace)", *lines])


def _resolve_times(times: ResolveTimes) -> str:
    name = _name(times.longest.alert) if times.longest.alert else ""
    return f"*{phrase.TIME_TO_RESOLVE}* {phrase.resolve_times_line(times, name)}"


def _section(mrkdwn: str) -> SectionBlock:
    return section(truncate(mrkdwn, SECTION_TEXT_MAX))


__all__ = ["build_digest_message"]
