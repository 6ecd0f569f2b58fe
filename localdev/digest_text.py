"""The digest as plain text, for the local CLI (localdev/digest_cli.py): the same phrases as the Slack message.

Names are shown in full and nothing is escaped: this is printed to a terminal, never sent to Slack.
"""

from __future__ import annotations

from collections.abc import Sequence

from sre_slack.blocks.digest_phrases import (
    ARROWS,
    LISTED_TYPES,
    STORMS,
    TIME_TO_RESOLVE,
    TOP_ALERTS,
    WITHOUT_NAMESPACE,
    accuracy_line,
    alerts,
    change_text,
    comparison,
    count,
    mover,
    others_label,
    quiet_line,
    resolve_times_line,
    storm_line,
    title,
    week_over_week,
)
from sre_slack.domain.digest_stats import Breakdown, Change, Digest


def _total_line(digest: Digest) -> str:
    """'42 alerts ▲ +12 (+40%) vs 30 the day before'."""
    return f"{alerts(digest.total.current)} {comparison(digest.total, 'the day before')}"


def _week_line(digest: Digest) -> str:
    """'Last 7 days: ▁▂▃▅▂▁█  9 … 42' with the range the bars are scaled to."""
    totals = digest.week.totals
    return f"Last 7 days: {digest.week.sparkline}  low {count(min(totals))}, high {count(max(totals))}"


def _more(total: int, shown: int) -> str:
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
        lines.append(quiet_line(digest))
        lines += _resolve_lines(digest)
        lines.append(_week_line(digest))
        return "\n".join(lines)

    lines += ["", _total_line(digest)]
    lines += ["  " + row for row in _table([(s.name, s.change.current, s.change) for s in digest.severities])]

    namespace_rows = _breakdown_rows(digest.namespaces, "namespace")
    unnamed = digest.without_namespace
    if unnamed.current or unnamed.previous:
        namespace_rows.append((WITHOUT_NAMESPACE, unnamed.current, unnamed))
    if namespace_rows:
        lines += ["", "By namespace"]
        lines += ["  " + row for row in _table(namespace_rows)]
    if digest.clusters is not None:
        lines += ["", "By cluster"]
        lines += ["  " + row for row in _table(_breakdown_rows(digest.clusters, "cluster"))]
    if digest.top_alerts:
        lines += ["", TOP_ALERTS]
        lines += ["  " + row for row in _table([(r.name, r.change.current, r.change) for r in digest.top_alerts])]
    if digest.storms:
        lines += ["", f"{STORMS} (alike alerts: same cluster, alert and namespace)"]
        lines += ["  " + storm_line(s, s.alert, s.namespace or WITHOUT_NAMESPACE, s.cluster) for s in digest.storms]

    changes = digest.changes
    lines += ["", "What changed"]
    if not changes.anything:
        lines.append("  Same alert types as the day before, same counts.")
    if changes.new:
        listed = ", ".join(f"{r.name} ({count(r.change.current)})" for r in changes.new[:LISTED_TYPES])
        lines.append(f"  {ARROWS['new']} New: {listed} {_more(len(changes.new), LISTED_TYPES)}".rstrip())
    if changes.risers:
        lines.append(f"  {ARROWS['up']} Rising: " + ", ".join(mover(r, r.name) for r in changes.risers))
    if changes.fallers:
        lines.append(f"  {ARROWS['down']} Falling: " + ", ".join(mover(r, r.name) for r in changes.fallers))
    if changes.gone_quiet:
        listed = ", ".join(
            f"{r.name} ({count(r.change.previous)} the day before)" for r in changes.gone_quiet[:LISTED_TYPES]
        )
        lines.append(f"  Gone quiet: {listed} {_more(len(changes.gone_quiet), LISTED_TYPES)}".rstrip())

    lines += ["", *_resolve_lines(digest), _week_line(digest), week_over_week(digest)]
    if (accuracy := accuracy_line(digest)) is not None:
        lines.append(accuracy)
    return "\n".join(lines)


def _resolve_lines(digest: Digest) -> list[str]:
    times = digest.resolve_times
    if times is None:
        return []
    return [f"{TIME_TO_RESOLVE}: {resolve_times_line(times, times.longest.alert)}"]
