"""How a digest reads, in plain text: the phrases shared by the Slack message and the plain-text rendering.

Nothing here escapes for Slack: callers put these phrases into mrkdwn and escape the names they insert
(`sre_slack.blocks.digest` does). Numbers and arrows never need escaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sre_slack.domain.digest_stats import Breakdown, Change, Digest, NamedChange, Trend

ARROWS: dict[Trend, str] = {"up": "▲", "down": "▼", "flat": "■", "new": "🆕", "gone": "▼"}
LEGEND = "▲ up  ▼ down  ■ no change  🆕 new"
WITHOUT_NAMESPACE = "(no namespace)"
QUIET = "No alerts yesterday or the day before — all quiet."
# Lists of alert types in "What changed" show this many names, then "and N more".
LISTED_TYPES = 5

# Spelled out rather than strftime: month and weekday names must not depend on the process locale.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def long_day(day: date) -> str:
    """'Thursday, 26 Nov 2026'."""
    return f"{_WEEKDAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def short_day(day: date) -> str:
    """'Thu 19 Nov'."""
    return f"{_WEEKDAYS[day.weekday()][:3]} {day.day} {_MONTHS[day.month - 1]}"


def title(day: date) -> str:
    return f"Daily alert digest — {long_day(day)}"


def count(n: int) -> str:
    return f"{n:,}"


def alerts(n: int) -> str:
    return f"{n:,} alert" if n == 1 else f"{n:,} alerts"


def signed(n: int) -> str:
    return f"{n:+,}" if n else "0"


def percent_text(change: Change) -> str:
    """'(+40%)'; '(+<1%)' when a real change rounds to zero; '(×14)' for rises of 1000 % and more (a reader
    grasps "fourteen times" faster than "+1300%"); '' when there is no percentage to give."""
    pct = change.percent
    if pct is None or change.delta == 0:
        return ""
    if pct == 0:
        return "(+<1%)" if change.delta > 0 else "(-<1%)"
    if pct >= 1000:
        times = (2 * change.current + change.previous) // (2 * change.previous)
        return f"(×{times:,})"
    return f"({pct:+}%)"


def change_text(change: Change) -> str:
    """'▲ +12 (+40%)', '▼ -4 (-100%)', '■ 0', '🆕 +5'."""
    parts = [ARROWS[change.trend], signed(change.delta), percent_text(change)]
    return " ".join(p for p in parts if p)


def comparison(change: Change, against: str) -> str:
    """The change in words against a named reference: '▲ +12 (+40%) vs 30 the day before'."""
    if change.trend == "flat" and change.current:
        return f"{ARROWS['flat']} same as {against}"
    if change.trend == "flat":
        return f"{ARROWS['flat']} none {against} either"
    if change.trend == "new":
        return f"{ARROWS['new']} none {against}"
    return f"{change_text(change)} vs {count(change.previous)} {against}"


def total_line(digest: Digest) -> str:
    """'42 alerts ▲ +12 (+40%) vs 30 the day before'."""
    return f"{alerts(digest.total.current)} {comparison(digest.total, 'the day before')}"


def fallback_text(digest: Digest) -> str:
    """Notification text: 'Alert digest for 2026-11-26: 42 alerts (▲ +12 vs previous day)'."""
    head = f"Alert digest for {digest.day.isoformat()}"
    if digest.quiet:
        return f"{head}: no alerts, all quiet"
    total = digest.total
    if total.trend == "flat":
        trend = f"{ARROWS['flat']} same as previous day"
    else:
        trend = f"{ARROWS[total.trend]} {signed(total.delta)} vs previous day"
    return f"{head}: {alerts(total.current)} ({trend})"


def week_over_week(digest: Digest) -> str:
    """'Week over week: ▲ +12 (+40%) vs 30 on Thu 19 Nov', or why there is no comparison."""
    week = digest.week
    on_day = f"on {short_day(week.week_ago)}"
    if week.week_over_week is None:
        return f"Week over week: no data for {short_day(week.week_ago)}"
    return f"Week over week: {comparison(week.week_over_week, on_day)}"


def week_line(digest: Digest) -> str:
    """'Last 7 days: ▁▂▃▅▂▁█  9 … 42' with the range the bars are scaled to."""
    totals = digest.week.totals
    return f"Last 7 days: {digest.week.sparkline}  low {count(min(totals))}, high {count(max(totals))}"


def accuracy_line(digest: Digest) -> str | None:
    """'Accuracy (12 ratings): Accurate 67% · Partially Accurate 25% · Needs Improvement 8%'."""
    accuracy = digest.accuracy
    if accuracy is None:
        return None
    ratings = "1 rating" if accuracy.ratings == 1 else f"{accuracy.ratings:,} ratings"
    shares = " · ".join(f"{s.label} {s.percent}%" for s in accuracy.shares)
    return f"Accuracy ({ratings}): {shares}"


def others_label(names: int, noun: str) -> str:
    return f"others ({names:,} {noun}{'' if names == 1 else 's'})"


def mover(row: NamedChange, name: str) -> str:
    """A riser or faller: 'name 3 → 9 (+6)'. `name` is passed in so the caller can escape or format it."""
    return f"{name} {count(row.change.previous)} → {count(row.change.current)} ({signed(row.change.delta)})"


def more(total: int, shown: int) -> str:
    return f"and {total - shown:,} more" if total > shown else ""


def _table(rows: Sequence[tuple[str, int, Change]]) -> list[str]:
    # Plain text has no width limit: names are shown in full and the columns follow the longest.
    width = max((len(label) for label, _, _ in rows), default=0)
    number = max((len(count(n)) for _, n, _ in rows), default=0)
    return [f"{label:<{width}}  {count(n):>{number}}  {change_text(c)}" for label, n, c in rows]


def _breakdown_rows(breakdown: Breakdown, noun: str) -> list[tuple[str, int, Change]]:
    rows = [(r.name, r.change.current, r.change) for r in breakdown.top]
    if breakdown.others:
        o = breakdown.others
        rows.append((others_label(o.names, noun), o.change.current, o.change))
    return rows


def render_digest_text(digest: Digest, *, tenant_name: str | None = None) -> str:
    """The whole digest as plain text (CLI output, closing notes). Names are shown in full."""
    lines = [title(digest.day)]
    if tenant_name:
        lines.append(tenant_name)
    if digest.quiet:
        lines += [QUIET, week_line(digest)]
        return "\n".join(lines)

    lines += ["", total_line(digest)]
    lines += ["  " + row for row in _table([(s.name, s.change.current, s.change) for s in digest.severities])]

    namespace_rows = _breakdown_rows(digest.namespaces, "namespace")
    unnamed = digest.without_namespace
    if unnamed.current or unnamed.previous:
        namespace_rows.append((WITHOUT_NAMESPACE, unnamed.current, unnamed))
    if namespace_rows:
        lines += ["", "By namespace"]
        lines += ["  " + row for row in _table(namespace_rows)]

    changes = digest.changes
    lines += ["", "What changed"]
    if not changes.anything:
        lines.append("  Same alert types as the day before, same counts.")
    if changes.new:
        listed = ", ".join(f"{r.name} ({count(r.change.current)})" for r in changes.new[:LISTED_TYPES])
        lines.append(f"  {ARROWS['new']} New: {listed} {more(len(changes.new), LISTED_TYPES)}".rstrip())
    if changes.risers:
        lines.append(f"  {ARROWS['up']} Rising: " + ", ".join(mover(r, r.name) for r in changes.risers))
    if changes.fallers:
        lines.append(f"  {ARROWS['down']} Falling: " + ", ".join(mover(r, r.name) for r in changes.fallers))
    if changes.gone_quiet:
        listed = ", ".join(
            f"{r.name} ({count(r.change.previous)} the day before)" for r in changes.gone_quiet[:LISTED_TYPES]
        )
        lines.append(f"  Gone quiet: {listed} {more(len(changes.gone_quiet), LISTED_TYPES)}".rstrip())

    lines += ["", week_line(digest), week_over_week(digest)]
    if (accuracy := accuracy_line(digest)) is not None:
        lines.append(accuracy)
    if digest.clusters is not None:
        lines += ["", "By cluster"]
        lines += ["  " + row for row in _table(_breakdown_rows(digest.clusters, "cluster"))]
    return "\n".join(lines)
