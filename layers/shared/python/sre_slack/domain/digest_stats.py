"""Arithmetic of the daily alert digest: what changed between the report day and the day before.

Pure functions over the per-day counters stored under `TENANT#{tenant}#COUNTS` / `DAY#{yyyy-mm-dd}`
(see docs/ARCHITECTURE.md). Nothing here talks to AWS or Slack; the worker reads the items, calls
`build_digest`, and hands the result to `sre_slack.blocks.digest.build_digest_message`.

Decisions a reader of the digest relies on:
- A day without a stored item counts as zero alerts. Counters are created by the first `ADD`, so "no item"
  means either a day without alerts or a day before counting started; the two cannot be told apart.
- For that reason the week-over-week comparison is only made when the counters of the day seven days before
  the report day were actually stored (`DayCounts.recorded`): "42 vs 0 a week ago" would be a claim about a
  day we know nothing about. Every other comparison is against the day before, where zero is the honest
  reading (the digest covers consecutive days of one running installation).
- Percentages are rounded half away from zero; there is no percentage when the previous value is zero.
- Percentages are only shown on a base of SMALL_BASE (20) or more: "3 → 6" says more than "+100%", and a
  reader cannot tell "+100%" on 3 alerts from "+100%" on 3,000 (`Change.shown_percent`).
- A report day without alerts is a quiet day (`Digest.quiet`): one line saying so, with the day before's total,
  instead of a column of "0 ▼ -100%".
- "Storms" count alike alerts per day: the same (cluster, alert name, namespace) on the report day, at least
  STORM_MIN_ALERTS of them. They are not the message threads of alert grouping (a group is bounded by its
  time window and its channel; a signature's day count is not).
- Time to resolve covers the investigations resolved on the report day (UTC day of `resolved_at`), whenever
  they fired: the median and the longest of `resolved_at - fired_at`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

# The counters use the rating keys of the feedback buttons and the rows.
from sre_slack.domain.ratings import RATING_LABELS, RATINGS

Trend = Literal["up", "down", "flat", "new", "gone"]

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
SPARK_LEVELS = "▁▂▃▄▅▆▇█"
TREND_DAYS = 7
DAY_SK_PREFIX = "DAY#"
# Below this many alerts the day before, a change is shown as "3 → 6", not as a percentage.
SMALL_BASE = 20
# "Top alerts": the alert names with the most firings on the report day.
TOP_ALERTS = 5
# "Storms": the signatures (cluster, alert name, namespace) with the most alerts, from this many alerts on.
STORM_MIN_ALERTS = 5
TOP_STORMS = 3
# The counter of one signature is `sig#<JSON array [cluster, alert name, namespace or null]>`: JSON because
# names may contain any character, so no separator would be safe.
SIGNATURE_PREFIX = "sig"

# (cluster, alert name, namespace or None)
Signature = tuple[str, str, str | None]

# attribute prefix in the counters item -> DayCounts field
_PREFIXES: dict[str, str] = {
    "sev": "by_severity",
    "ns": "by_namespace",
    "alert": "by_alert",
    "cluster": "by_cluster",
    "rating": "ratings",
}


def _count(value: Any) -> int | None:
    """A stored counter as an int; None for attributes that are not counters (strings, maps, ...)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    # Counters only grow (ADD); a negative value can only come from a manual edit and reads as zero.
    return max(0, int(value))


def signature_name(cluster: str, alert: str, namespace: str | None) -> str:
    """The name part of a signature counter (after `sig#`): a JSON array, so any name round-trips."""
    return json.dumps([cluster, alert, namespace or None], ensure_ascii=False, separators=(",", ":"))


def parse_signature(name: str) -> Signature | None:
    """The signature a counter name stands for; None for anything else (a hand-edited or foreign attribute)."""
    try:
        parts = json.loads(name)
    except (ValueError, RecursionError):
        return None
    if (not isinstance(parts, list) or len(parts) != 3 or not all(isinstance(p, str) for p in parts[:2])
            or not (parts[2] is None or isinstance(parts[2], str))):
        return None
    return (parts[0], parts[1], parts[2] or None)


@dataclass(frozen=True)
class DayCounts:
    """Alert counters of one tenant for one UTC day.

    `recorded` tells whether the counters were stored for that day (False for `empty`), which is what lets
    the digest tell "no data" from "zero" where that matters (week over week).
    """

    day: date
    total: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    by_namespace: dict[str, int] = field(default_factory=dict)
    by_alert: dict[str, int] = field(default_factory=dict)
    by_cluster: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, int] = field(default_factory=dict)
    by_signature: dict[Signature, int] = field(default_factory=dict)
    recorded: bool = True

    @classmethod
    def empty(cls, day: date) -> DayCounts:
        return cls(day=day, recorded=False)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> DayCounts:
        """Build from a DynamoDB item as boto3 returns it (numbers are `Decimal`).

        Unknown attributes (pk, ttl, timestamps) are ignored; zero counters are dropped so that a name present
        in a breakdown always had at least one alert. Raises ValueError when `sk` is not `DAY#YYYY-MM-DD`.
        """
        sk = item.get("sk")
        if not isinstance(sk, str) or not sk.startswith(DAY_SK_PREFIX):
            raise ValueError(f"not a day counters item: sk={sk!r}")
        day = date.fromisoformat(sk.removeprefix(DAY_SK_PREFIX))

        groups: dict[str, dict[str, int]] = {name: {} for name in _PREFIXES.values()}
        signatures: dict[Signature, int] = {}
        total: int | None = None
        for attribute, raw in item.items():
            value = _count(raw)
            if value is None:
                continue
            if attribute == "total":
                total = value
                continue
            prefix, sep, name = attribute.partition("#")
            if sep and name and prefix in _PREFIXES and value > 0:
                groups[_PREFIXES[prefix]][name] = value
            elif sep and prefix == SIGNATURE_PREFIX and value > 0 and (signature := parse_signature(name)):
                signatures[signature] = signatures.get(signature, 0) + value
        if total is None:
            # Every counted alert carries exactly one severity, so their sum is the total.
            total = sum(groups["by_severity"].values())
        return cls(day=day, total=total, recorded=True, by_signature=signatures, **groups)


@dataclass(frozen=True)
class Change:
    """A count on the report day against the count it is compared with."""

    current: int
    previous: int

    @property
    def delta(self) -> int:
        return self.current - self.previous

    @property
    def percent(self) -> int | None:
        """Relative change in whole percent, rounded half away from zero; None when previous is zero."""
        if self.previous == 0:
            return None
        magnitude = (abs(self.delta) * 200 + self.previous) // (2 * self.previous)
        return magnitude if self.delta >= 0 else -magnitude

    @property
    def small_base(self) -> bool:
        """Too few alerts before for a percentage to mean anything: show "3 → 6" instead of "+100%"."""
        return 0 < self.previous < SMALL_BASE

    @property
    def shown_percent(self) -> int | None:
        """The percentage worth showing: None on a small base (and wherever `percent` is None)."""
        return None if self.small_base else self.percent

    @property
    def trend(self) -> Trend:
        if self.previous == 0 and self.current > 0:
            return "new"
        if self.previous > 0 and self.current == 0:
            return "gone"
        if self.delta > 0:
            return "up"
        if self.delta < 0:
            return "down"
        return "flat"


@dataclass(frozen=True)
class NamedChange:
    """One row of a breakdown: a severity, namespace, alert type or cluster with its change."""

    name: str
    change: Change


@dataclass(frozen=True)
class Others:
    """The rows folded below the top N of a breakdown, summed."""

    names: int
    change: Change


@dataclass(frozen=True)
class Breakdown:
    top: tuple[NamedChange, ...]
    others: Others | None

    @property
    def names(self) -> int:
        """How many distinct names the breakdown covers (shown plus folded)."""
        return len(self.top) + (self.others.names if self.others else 0)


@dataclass(frozen=True)
class WhatChanged:
    """Alert types that appeared, moved most, or went quiet between the day before and the report day."""

    new: tuple[NamedChange, ...]
    risers: tuple[NamedChange, ...]
    fallers: tuple[NamedChange, ...]
    gone_quiet: tuple[NamedChange, ...]

    @property
    def anything(self) -> bool:
        return bool(self.new or self.risers or self.fallers or self.gone_quiet)


@dataclass(frozen=True)
class WeekTrend:
    days: tuple[date, ...]  # oldest -> report day
    totals: tuple[int, ...]
    sparkline: str
    week_ago: date
    # None when the counters of `week_ago` were not stored: no data is not the same as zero alerts.
    week_over_week: Change | None


@dataclass(frozen=True)
class RatingShare:
    key: str
    label: str
    count: int
    percent: int


@dataclass(frozen=True)
class Accuracy:
    ratings: int
    shares: tuple[RatingShare, ...]  # always the three ratings, in button order; percents sum to 100


@dataclass(frozen=True)
class Storm:
    """Alike alerts of the report day: one signature and how many alerts it counted."""

    cluster: str
    alert: str
    namespace: str | None
    alerts: int


@dataclass(frozen=True)
class Resolution:
    """One investigation resolved on the report day, as the resolve path recorded it."""

    investigation_id: str
    seconds: int
    alert: str = ""


@dataclass(frozen=True)
class ResolveTimes:
    """How long the investigations resolved on the report day took, from the alert firing to its resolve."""

    resolved: int
    median_seconds: int
    longest: Resolution


def resolve_seconds(fired_at: datetime, resolved_at: datetime) -> int:
    """Whole seconds from firing to resolve; a resolve stamped before its firing (clock skew) counts as 0."""
    return max(0, int((resolved_at - fired_at).total_seconds()))


def median(values: Iterable[int]) -> int:
    """The middle value; for an even count the mean of the two middle ones, rounded half up. Raises on empty."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of nothing")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return _round_half_up(ordered[middle - 1] + ordered[middle], 2)


def resolve_times(resolutions: Iterable[Resolution]) -> ResolveTimes | None:
    """Median and longest of the day's resolutions (one per investigation); None when nothing was resolved."""
    unique = {r.investigation_id: r for r in resolutions}  # a row per investigation; a repeat counts once
    if not unique:
        return None
    rows = list(unique.values())
    longest = max(rows, key=lambda r: (r.seconds, r.investigation_id))
    return ResolveTimes(resolved=len(rows), median_seconds=median(r.seconds for r in rows), longest=longest)


def top_alerts(today: Mapping[str, int], yesterday: Mapping[str, int], limit: int = TOP_ALERTS
               ) -> tuple[NamedChange, ...]:
    """The alert names with the most firings on the report day (ties by name), each against the day before."""
    rows = [NamedChange(n, Change(v, yesterday.get(n, 0))) for n, v in today.items() if v > 0]
    return tuple(sorted(rows, key=lambda r: (-r.change.current, r.name))[:limit])


def storms(signatures: Mapping[Signature, int], *, minimum: int = STORM_MIN_ALERTS, limit: int = TOP_STORMS
           ) -> tuple[Storm, ...]:
    """The signatures holding the most alerts on the report day, from `minimum` alerts on; ties by alert name,
    namespace, cluster."""
    rows = [Storm(cluster, alert, namespace, n) for (cluster, alert, namespace), n in signatures.items()
            if n >= minimum]
    return tuple(sorted(rows, key=lambda s: (-s.alerts, s.alert, s.namespace or "", s.cluster))[:limit])


@dataclass(frozen=True)
class Digest:
    day: date
    previous_day: date
    total: Change
    severities: tuple[NamedChange, ...]  # critical, warning, info, then any unexpected severity
    namespaces: Breakdown
    # Alerts counted without a namespace (node and cluster-scoped alerts): the rest of the total.
    without_namespace: Change
    changes: WhatChanged
    week: WeekTrend
    accuracy: Accuracy | None  # None when nobody rated anything that day
    clusters: Breakdown | None  # None unless more than one cluster appears on either day
    quiet: bool  # no alerts on the report day (the day before may have had some: `total.previous`)
    top_alerts: tuple[NamedChange, ...] = ()
    storms: tuple[Storm, ...] = ()
    resolve_times: ResolveTimes | None = None  # None when nothing was resolved on the report day


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def sparkline(values: Iterable[int]) -> str:
    """Block characters scaled from the smallest (▁) to the largest (█) value.

    A flat series has no scale: all zero shows the lowest bars, any other constant the middle ones, so that
    a steady non-zero week does not look like an empty one.
    """
    series = list(values)
    if not series:
        return ""
    low, high = min(series), max(series)
    if low == high:
        level = 0 if high == 0 else len(SPARK_LEVELS) // 2 - 1
        return SPARK_LEVELS[level] * len(series)
    top = len(SPARK_LEVELS) - 1
    return "".join(SPARK_LEVELS[_round_half_up((v - low) * top, high - low)] for v in series)


def _changes(today: Mapping[str, int], yesterday: Mapping[str, int]) -> list[NamedChange]:
    names = {n for n, v in today.items() if v} | {n for n, v in yesterday.items() if v}
    return [NamedChange(n, Change(today.get(n, 0), yesterday.get(n, 0))) for n in names]


def _breakdown(today: Mapping[str, int], yesterday: Mapping[str, int], limit: int) -> Breakdown:
    """Top `limit` names by today's count (ties by name), the rest summed into `others`."""
    rows = sorted(_changes(today, yesterday), key=lambda r: (-r.change.current, r.name))
    top, rest = rows[:limit], rows[limit:]
    others = None
    if rest:
        others = Others(
            names=len(rest),
            change=Change(sum(r.change.current for r in rest), sum(r.change.previous for r in rest)),
        )
    return Breakdown(top=tuple(top), others=others)


def _severities(today: Mapping[str, int], yesterday: Mapping[str, int]) -> tuple[NamedChange, ...]:
    # The contract allows only the three severities; anything else is still shown so that the lines add up.
    seen = {n for n, v in today.items() if v} | {n for n, v in yesterday.items() if v}
    extra = sorted(seen - set(SEVERITIES))
    return tuple(
        NamedChange(s, Change(today.get(s, 0), yesterday.get(s, 0))) for s in (*SEVERITIES, *extra)
    )


def _unnamed(total: int, named: Mapping[str, int]) -> int:
    # The namespace is optional on an alert; clamped because hand-edited counters may not add up.
    return max(0, total - sum(named.values()))


def _what_changed(today: Mapping[str, int], yesterday: Mapping[str, int], movers: int) -> WhatChanged:
    rows = _changes(today, yesterday)
    new = [r for r in rows if r.change.trend == "new"]
    gone = [r for r in rows if r.change.trend == "gone"]
    risers = [r for r in rows if r.change.trend == "up"]
    fallers = [r for r in rows if r.change.trend == "down"]
    return WhatChanged(
        new=tuple(sorted(new, key=lambda r: (-r.change.current, r.name))),
        risers=tuple(sorted(risers, key=lambda r: (-r.change.delta, r.name))[:movers]),
        fallers=tuple(sorted(fallers, key=lambda r: (r.change.delta, r.name))[:movers]),
        gone_quiet=tuple(sorted(gone, key=lambda r: (-r.change.previous, r.name))),
    )


def _accuracy(ratings: Mapping[str, int]) -> Accuracy | None:
    counts = [(key, RATING_LABELS[key], ratings.get(key, 0)) for key in RATINGS]
    rated = sum(c for _, _, c in counts)
    if rated == 0:
        return None
    # Largest remainder, so the three shares always add up to exactly 100; ties go to the earlier button.
    floors = [c * 100 // rated for _, _, c in counts]
    remainders = [c * 100 % rated for _, _, c in counts]
    for i in sorted(range(len(counts)), key=lambda i: -remainders[i])[: 100 - sum(floors)]:
        floors[i] += 1
    shares = tuple(
        RatingShare(key=key, label=label, count=count, percent=pct)
        for (key, label, count), pct in zip(counts, floors, strict=True)
    )
    return Accuracy(ratings=rated, shares=shares)


def build_digest(
    report_day: date,
    days: Iterable[DayCounts],
    *,
    top_namespaces: int = 8,
    top_movers: int = 3,
    top_clusters: int = 8,
    resolutions: Iterable[Resolution] = (),
) -> Digest:
    """The digest of `report_day` from the counters of that day and up to seven days before it, and the
    investigations resolved on that day.

    Days missing from `days` count as zero (and as not recorded); days outside that window are ignored.
    Raises ValueError when the same day is given twice.
    """
    window_start = report_day - timedelta(days=TREND_DAYS)
    by_day: dict[date, DayCounts] = {}
    for counts in days:
        if not window_start <= counts.day <= report_day:
            continue
        if counts.day in by_day:
            raise ValueError(f"counters of {counts.day.isoformat()} given twice")
        by_day[counts.day] = counts

    def on(day: date) -> DayCounts:
        counts = by_day.get(day)
        return counts if counts is not None else DayCounts.empty(day)

    today, yesterday, week_ago = on(report_day), on(report_day - timedelta(days=1)), on(window_start)
    trend_days = tuple(report_day - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1))
    totals = tuple(on(d).total for d in trend_days)

    clusters = None
    if len(_changes(today.by_cluster, yesterday.by_cluster)) > 1:
        clusters = _breakdown(today.by_cluster, yesterday.by_cluster, top_clusters)

    return Digest(
        day=report_day,
        previous_day=yesterday.day,
        total=Change(today.total, yesterday.total),
        severities=_severities(today.by_severity, yesterday.by_severity),
        namespaces=_breakdown(today.by_namespace, yesterday.by_namespace, top_namespaces),
        without_namespace=Change(
            _unnamed(today.total, today.by_namespace), _unnamed(yesterday.total, yesterday.by_namespace)
        ),
        changes=_what_changed(today.by_alert, yesterday.by_alert, top_movers),
        week=WeekTrend(
            days=trend_days,
            totals=totals,
            sparkline=sparkline(totals),
            week_ago=week_ago.day,
            week_over_week=Change(today.total, week_ago.total) if week_ago.recorded else None,
        ),
        accuracy=_accuracy(today.ratings),
        clusters=clusters,
        quiet=today.total == 0,
        top_alerts=top_alerts(today.by_alert, yesterday.by_alert),
        storms=storms(today.by_signature),
        resolve_times=resolve_times(resolutions),
    )


__all__ = [
    "SEVERITIES",
    "SMALL_BASE",
    "STORM_MIN_ALERTS",
    "Accuracy",
    "Breakdown",
    "Change",
    "DayCounts",
    "Digest",
    "NamedChange",
    "Others",
    "RatingShare",
    "Resolution",
    "ResolveTimes",
    "Signature",
    "Storm",
    "Trend",
    "WeekTrend",
    "WhatChanged",
    "build_digest",
    "median",
    "parse_signature",
    "resolve_seconds",
    "resolve_times",
    "signature_name",
    "sparkline",
    "storms",
    "top_alerts",
]
