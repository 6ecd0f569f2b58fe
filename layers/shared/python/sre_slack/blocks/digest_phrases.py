"""How a digest reads: the phrases of the digest message (titles, counts, changes and their arrows).

Nothing here escapes for Slack: callers put these phrases into mrkdwn and escape the names they insert
(`sre_slack.blocks.digest` does). Numbers and arrows never need escaping. The local CLI's plain-text rendering
(localdev/digest_text.py) is built from the same phrases.
"""

from __future__ import annotations

from datetime import date

from sre_slack.domain.digest_stats import Change, Digest, NamedChange, ResolveTimes, Storm, Trend
from sre_slack.domain.durations import duration

ARROWS: dict[Trend, str] = {"up": "▲", "down": "▼", "flat": "■", "new": "🆕", "gone": "▼"}
LEGEND = "▲ up  ▼ down  ■ no change  🆕 new"
WITHOUT_NAMESPACE = "(no namespace)"
QUIET = "Quiet day: no alerts yesterday, nor the day before."
TOP_ALERTS = "Top alerts"
STORMS = "Storms"
STORM_MARK = "🌀"
TIME_TO_RESOLVE = "Time to resolve"
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
    grasps "fourteen times" faster than "+1300%"); '' when there is no percentage to give, or none worth
    giving (a base under SMALL_BASE)."""
    pct = change.shown_percent
    if pct is None or change.delta == 0:
        return ""
    if pct == 0:
        return "(+<1%)" if change.delta > 0 else "(-<1%)"
    if pct >= 1000:
        times = (2 * change.current + change.previous) // (2 * change.previous)
        return f"(×{times:,})"
    return f"({pct:+}%)"


def change_text(change: Change) -> str:
    """'▲ +12 (+40%)', '▼ -30 (-100%)', '■ 0', '🆕 +5'; on a small base the two counts: '▲ 3 → 6', '▼ 4 → 0'."""
    if change.small_base and change.delta:
        return f"{ARROWS[change.trend]} {count(change.previous)} → {count(change.current)}"
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
    if change.small_base:
        # "vs 3" already gives the base; a percentage of it would say nothing more.
        return f"{ARROWS[change.trend]} {signed(change.delta)} vs {count(change.previous)} {against}"
    return f"{change_text(change)} vs {count(change.previous)} {against}"


def fallback_text(digest: Digest) -> str:
    """Notification text: 'Alert digest for 2026-11-26: 42 alerts (▲ +12 vs previous day)'."""
    head = f"Alert digest for {digest.day.isoformat()}"
    if digest.quiet:
        before = digest.total.previous
        return f"{head}: no alerts ({count(before)} the day before)" if before else f"{head}: no alerts, all quiet"
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


def quiet_line(digest: Digest) -> str:
    """'Quiet day: no alerts yesterday (3 the day before)', in place of the tables."""
    before = digest.total.previous
    return f"Quiet day: no alerts yesterday ({count(before)} the day before)" if before else QUIET


def resolve_times_line(times: ResolveTimes, longest_name: str) -> str:
    """'12 resolved: median 14 min, longest 3 h 20 min (name)'. `longest_name` comes escaped (or '')."""
    about = f" ({longest_name})" if longest_name else ""
    if times.resolved == 1:
        return f"1 resolved, in {duration(times.longest.seconds)}{about}"
    return (f"{times.resolved:,} resolved: median {duration(times.median_seconds)}, "
            f"longest {duration(times.longest.seconds)}{about}")


def storm_line(storm: Storm, alert: str, namespace: str, cluster: str) -> str:
    """'🌀 KubePodCrashLooping · payments · production-us-east — 41 alerts' (names come formatted)."""
    return f"{STORM_MARK} {alert} · {namespace} · {cluster} — {alerts(storm.alerts)}"
