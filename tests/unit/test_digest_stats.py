"""Digest arithmetic: what changed between the report day and the day before, as the counters say."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sre_slack.domain.digest_stats import (
    SMALL_BASE,
    STORM_MIN_ALERTS,
    Change,
    DayCounts,
    Resolution,
    build_digest,
    median,
    parse_signature,
    resolve_seconds,
    resolve_times,
    signature_name,
    sparkline,
    storms,
    top_alerts,
)

REPORT_DAY = date(2026, 11, 26)
YESTERDAY = REPORT_DAY - timedelta(days=1)


def day(offset: int = 0, **fields: object) -> DayCounts:
    """Counters of the report day (offset 0) or `offset` days before it."""
    return DayCounts(day=REPORT_DAY - timedelta(days=offset), **fields)  # type: ignore[arg-type]


# --- reading the stored item ---


def test_from_item_reads_boto3_decimals_and_prefixes() -> None:
    item = {
        "pk": "TENANT#t_acme#COUNTS",
        "sk": "DAY#2026-11-26",
        "total": Decimal("42"),
        "sev#critical": Decimal("5"),
        "sev#warning": Decimal("37"),
        "ns#payments": Decimal("40"),
        "ns#kube-system": Decimal("2"),
        "alert#KubePodCrashLooping": Decimal("42"),
        "alert#Weird#Name": Decimal("1"),
        "cluster#prod-us": Decimal("42"),
        "rating#accurate": Decimal("3"),
        "updated_at": "2026-11-26T10:00:00Z",
        "ttl": Decimal("1790000000"),
    }
    counts = DayCounts.from_item(item)
    assert counts.day == date(2026, 11, 26)
    assert counts.total == 42
    assert counts.by_severity == {"critical": 5, "warning": 37}
    assert counts.by_namespace == {"payments": 40, "kube-system": 2}
    # only the first '#' separates the prefix: names may contain '#'
    assert counts.by_alert == {"KubePodCrashLooping": 42, "Weird#Name": 1}
    assert counts.by_cluster == {"prod-us": 42}
    assert counts.ratings == {"accurate": 3}
    assert counts.recorded is True
    assert all(type(v) is int for v in counts.by_severity.values())


def test_from_item_without_total_sums_severities_and_drops_zero_counters() -> None:
    counts = DayCounts.from_item(
        {"sk": "DAY#2026-11-25", "sev#critical": Decimal(2), "sev#info": Decimal(1), "ns#gone": Decimal(0)}
    )
    assert counts.total == 3
    assert counts.by_namespace == {}


@pytest.mark.parametrize("sk", [None, "CONFIG#ROUTING", "DAY#26-11-2026", "DAY#"])
def test_from_item_rejects_items_that_are_not_day_counters(sk: str | None) -> None:
    with pytest.raises(ValueError):
        DayCounts.from_item({"sk": sk, "total": Decimal(1)})


def test_empty_day_is_zero_and_not_recorded() -> None:
    counts = DayCounts.empty(REPORT_DAY)
    assert (counts.total, counts.by_namespace, counts.recorded) == (0, {}, False)


# --- Change ---


@pytest.mark.parametrize(
    ("current", "previous", "delta", "percent", "trend"),
    [
        (42, 30, 12, 40, "up"),
        (30, 42, -12, -29, "down"),  # -28.57 -> -29
        (7, 7, 0, 0, "flat"),
        (0, 0, 0, None, "flat"),
        (5, 0, 5, None, "new"),  # never divides by zero
        (0, 4, -4, -100, "gone"),
        (3, 8, -5, -63, "down"),  # -62.5 rounds away from zero
        (9, 8, 1, 13, "up"),  # 12.5 rounds away from zero, not to even
        (1001, 1000, 1, 0, "up"),  # a real rise can round to 0 %; the trend still says up
    ],
)
def test_change(current: int, previous: int, delta: int, percent: int | None, trend: str) -> None:
    change = Change(current, previous)
    assert (change.delta, change.percent, change.trend) == (delta, percent, trend)


# --- totals, severities, quiet ---


def test_total_and_severities_against_the_day_before() -> None:
    digest = build_digest(
        REPORT_DAY,
        [
            day(0, total=42, by_severity={"critical": 5, "warning": 30, "info": 7}),
            day(1, total=30, by_severity={"critical": 3, "warning": 27}),
        ],
    )
    assert digest.previous_day == YESTERDAY
    assert (digest.total.current, digest.total.previous, digest.total.percent) == (42, 30, 40)
    assert [(s.name, s.change.current, s.change.previous, s.change.trend) for s in digest.severities] == [
        ("critical", 5, 3, "up"),
        ("warning", 30, 27, "up"),
        ("info", 7, 0, "new"),
    ]
    assert digest.quiet is False


def test_all_three_severities_are_always_listed_even_on_a_quiet_day() -> None:
    digest = build_digest(REPORT_DAY, [])
    assert [s.name for s in digest.severities] == ["critical", "warning", "info"]
    assert all(s.change.current == s.change.previous == 0 for s in digest.severities)
    assert digest.quiet is True
    assert digest.total.trend == "flat"


def test_unexpected_severity_is_shown_after_the_known_ones_so_lines_add_up() -> None:
    digest = build_digest(REPORT_DAY, [day(0, total=3, by_severity={"warning": 1, "error": 2})])
    assert [s.name for s in digest.severities] == ["critical", "warning", "info", "error"]
    assert sum(s.change.current for s in digest.severities) == digest.total.current


def test_a_day_without_alerts_is_quiet_even_after_a_busy_day() -> None:
    digest = build_digest(REPORT_DAY, [day(1, total=4, by_severity={"info": 4})])
    assert digest.quiet is True
    assert digest.total.trend == "gone"
    assert digest.total.previous == 4


def test_same_day_twice_is_refused_and_days_outside_the_window_are_ignored() -> None:
    with pytest.raises(ValueError):
        build_digest(REPORT_DAY, [day(0, total=1), day(0, total=2)])
    digest = build_digest(REPORT_DAY, [day(8, total=99), day(-1, total=99), day(0, total=1)])
    assert digest.week.totals == (0, 0, 0, 0, 0, 0, 1)
    assert digest.total.previous == 0


# --- namespaces ---


def test_one_namespace_has_no_others() -> None:
    digest = build_digest(REPORT_DAY, [day(0, total=3, by_namespace={"payments": 3})])
    [row] = digest.namespaces.top
    assert (row.name, row.change.current, row.change.trend) == ("payments", 3, "new")
    assert digest.namespaces.others is None


def test_top_namespaces_ranked_by_today_ties_by_name_rest_folded() -> None:
    today = {"b": 5, "a": 5, "c": 9, "d": 1, "e": 1, "quiet-today": 0}
    yesterday = {"a": 2, "d": 4, "quiet-today": 6}
    digest = build_digest(
        REPORT_DAY,
        [day(0, by_namespace=today), day(1, by_namespace=yesterday)],
        top_namespaces=3,
    )
    assert [r.name for r in digest.namespaces.top] == ["c", "a", "b"]
    others = digest.namespaces.others
    assert others is not None
    # d, e and the namespace that had alerts only the day before
    assert others.names == 3
    assert (others.change.current, others.change.previous) == (2, 10)


def test_alerts_without_namespace_are_the_rest_of_the_total() -> None:
    digest = build_digest(
        REPORT_DAY,
        [day(0, total=10, by_namespace={"payments": 7}), day(1, total=4, by_namespace={"payments": 4})],
    )
    assert (digest.without_namespace.current, digest.without_namespace.previous) == (3, 0)
    assert digest.without_namespace.trend == "new"


# --- what changed ---


def test_what_changed_new_risers_fallers_gone() -> None:
    today = {"OOMKilled": 4, "DiskPressure": 1, "CrashLoop": 9, "CPUThrottling": 10, "Latency": 3,
             "Steady": 5, "Up1": 3, "Down1": 1, "Down2": 6}
    yesterday = {"CrashLoop": 3, "CPUThrottling": 2, "Latency": 2, "Steady": 5, "Up1": 2, "Down1": 5,
                 "Down2": 8, "NodeNotReady": 7, "CertExpiry": 1}
    changes = build_digest(REPORT_DAY, [day(0, by_alert=today), day(1, by_alert=yesterday)]).changes

    assert [(r.name, r.change.current) for r in changes.new] == [("OOMKilled", 4), ("DiskPressure", 1)]
    # risers by delta: CPUThrottling +8, CrashLoop +6, then Latency +1 and Up1 +1 tie -> by name
    assert [(r.name, r.change.delta) for r in changes.risers] == [
        ("CPUThrottling", 8), ("CrashLoop", 6), ("Latency", 1),
    ]
    assert [(r.name, r.change.delta) for r in changes.fallers] == [("Down1", -4), ("Down2", -2)]
    assert [(r.name, r.change.previous) for r in changes.gone_quiet] == [
        ("NodeNotReady", 7), ("CertExpiry", 1),
    ]
    new_names = {r.name for r in changes.new}
    gone_names = {r.name for r in changes.gone_quiet}
    assert not new_names & {r.name for r in changes.risers}
    assert not gone_names & {r.name for r in changes.fallers}
    assert changes.anything


def test_nothing_changed_when_every_type_held_steady() -> None:
    alerts = {"CrashLoop": 3, "OOMKilled": 1}
    changes = build_digest(REPORT_DAY, [day(0, by_alert=alerts), day(1, by_alert=dict(alerts))]).changes
    assert not changes.anything


# --- week trend ---


def test_seven_day_trend_oldest_first_with_missing_days_as_zero() -> None:
    digest = build_digest(REPORT_DAY, [day(0, total=8), day(2, total=4), day(6, total=2)])
    assert digest.week.days[0] == REPORT_DAY - timedelta(days=6)
    assert digest.week.days[-1] == REPORT_DAY
    assert digest.week.totals == (2, 0, 0, 0, 4, 0, 8)
    assert digest.week.sparkline == "▃▁▁▁▅▁█"  # 2/8 of the range -> 1.75 of 7 steps -> ▃


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 0, 0, 0, 0, 0, 0], "▁▁▁▁▁▁▁"),
        ([5, 5, 5], "▄▄▄"),  # steady but not empty
        ([0, 7], "▁█"),
        ([10, 11, 12, 13, 14, 15, 16, 17], "▁▂▃▄▅▆▇█"),  # min..max, not 0..max
        ([1, 2], "▁█"),
        ([], ""),
    ],
)
def test_sparkline_scales_min_to_max(values: list[int], expected: str) -> None:
    assert sparkline(values) == expected


def test_week_over_week_when_the_day_a_week_before_was_recorded() -> None:
    digest = build_digest(REPORT_DAY, [day(0, total=30), day(7, total=20)])
    wow = digest.week.week_over_week
    assert digest.week.week_ago == REPORT_DAY - timedelta(days=7)
    assert wow is not None
    assert (wow.current, wow.previous, wow.percent) == (30, 20, 50)


def test_no_week_over_week_without_data_a_week_before() -> None:
    digest = build_digest(REPORT_DAY, [day(0, total=30), day(1, total=20)])
    assert digest.week.week_over_week is None
    # the handler may fill gaps with empty days: still no data, not zero
    digest = build_digest(REPORT_DAY, [day(0, total=30), DayCounts.empty(REPORT_DAY - timedelta(days=7))])
    assert digest.week.week_over_week is None


def test_week_over_week_against_a_recorded_zero() -> None:
    digest = build_digest(REPORT_DAY, [day(0, total=3), day(7, total=0)])
    assert digest.week.week_over_week is not None
    assert digest.week.week_over_week.trend == "new"


# --- accuracy and clusters ---


def test_no_accuracy_without_ratings() -> None:
    assert build_digest(REPORT_DAY, [day(0, total=3)]).accuracy is None


def test_accuracy_shares_sum_to_100() -> None:
    accuracy = build_digest(
        REPORT_DAY, [day(0, ratings={"accurate": 1, "partially_accurate": 1, "needs_improvement": 1})]
    ).accuracy
    assert accuracy is not None
    assert accuracy.ratings == 3
    # 33.3 each: the spare point goes to the first button
    assert [(s.label, s.count, s.percent) for s in accuracy.shares] == [
        ("Accurate", 1, 34), ("Partially Accurate", 1, 33), ("Needs Improvement", 1, 33),
    ]


def test_accuracy_lists_all_three_ratings_even_when_one_is_used() -> None:
    accuracy = build_digest(REPORT_DAY, [day(0, ratings={"needs_improvement": 2})]).accuracy
    assert accuracy is not None
    assert [(s.key, s.percent) for s in accuracy.shares] == [
        ("accurate", 0), ("partially_accurate", 0), ("needs_improvement", 100),
    ]


def test_clusters_only_when_more_than_one_appears() -> None:
    single = build_digest(REPORT_DAY, [day(0, by_cluster={"prod": 3}), day(1, by_cluster={"prod": 1})])
    assert single.clusters is None
    moved = build_digest(REPORT_DAY, [day(0, by_cluster={"prod": 3}), day(1, by_cluster={"staging": 1})])
    assert moved.clusters is not None
    assert [(r.name, r.change.trend) for r in moved.clusters.top] == [("prod", "new"), ("staging", "gone")]


# --- invariants ---

names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
counters = st.dictionaries(names, st.integers(min_value=0, max_value=10_000), max_size=30)


@given(today=counters, yesterday=counters, limit=st.integers(min_value=1, max_value=10))
def test_top_n_and_others_cover_every_namespace_and_every_alert(
    today: dict[str, int], yesterday: dict[str, int], limit: int
) -> None:
    digest = build_digest(
        REPORT_DAY,
        [day(0, by_namespace=today), day(1, by_namespace=yesterday)],
        top_namespaces=limit,
    )
    breakdown = digest.namespaces
    distinct = {n for n, v in today.items() if v} | {n for n, v in yesterday.items() if v}
    assert breakdown.names == len(distinct)
    assert len(breakdown.top) <= limit
    shown_today = sum(r.change.current for r in breakdown.top)
    shown_yesterday = sum(r.change.previous for r in breakdown.top)
    others = breakdown.others
    assert shown_today + (others.change.current if others else 0) == sum(today.values())
    assert shown_yesterday + (others.change.previous if others else 0) == sum(yesterday.values())
    currents = [r.change.current for r in breakdown.top]
    assert currents == sorted(currents, reverse=True)


@given(today=counters, yesterday=counters)
def test_what_changed_partitions_alert_types(today: dict[str, int], yesterday: dict[str, int]) -> None:
    changes = build_digest(REPORT_DAY, [day(0, by_alert=today), day(1, by_alert=yesterday)]).changes
    assert {r.name for r in changes.new} == {n for n, v in today.items() if v and not yesterday.get(n)}
    assert {r.name for r in changes.gone_quiet} == {n for n, v in yesterday.items() if v and not today.get(n)}
    assert all(r.change.delta > 0 and r.change.previous > 0 for r in changes.risers)
    assert all(r.change.delta < 0 and r.change.current > 0 for r in changes.fallers)
    assert len(changes.risers) <= 3 and len(changes.fallers) <= 3


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=14))
def test_sparkline_one_bar_per_value_with_extremes_at_the_ends(values: list[int]) -> None:
    line = sparkline(values)
    assert len(line) == len(values)
    if min(values) != max(values):
        assert line[values.index(min(values))] == "▁"
        assert line[values.index(max(values))] == "█"


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=3, max_size=3).filter(any))
def test_accuracy_shares_always_sum_to_100(counts: list[int]) -> None:
    ratings = dict(zip(("accurate", "partially_accurate", "needs_improvement"), counts, strict=True))
    accuracy = build_digest(REPORT_DAY, [day(0, ratings=ratings)]).accuracy
    assert accuracy is not None
    assert sum(s.percent for s in accuracy.shares) == 100
    for share in accuracy.shares:
        assert abs(share.percent - share.count * 100 / accuracy.ratings) < 1


# --- small bases, quiet days ---


@pytest.mark.parametrize(
    ("current", "previous", "small", "shown"),
    [
        (6, 3, True, None),  # "3 → 6", not "+100%"
        (0, 19, True, None),
        (40, 20, False, 100),  # from SMALL_BASE on, the percentage is shown
        (5, 0, False, None),  # nothing before: new, never a percentage
        (0, 0, False, None),
    ],
)
def test_percentages_only_on_a_base_of_twenty_or_more(current: int, previous: int, small: bool,
                                                      shown: int | None) -> None:
    change = Change(current, previous)
    assert SMALL_BASE == 20
    assert (change.small_base, change.shown_percent) == (small, shown)


def test_quiet_day_knows_the_day_before() -> None:
    digest = build_digest(REPORT_DAY, [day(1, total=3)])
    assert digest.quiet is True
    assert (digest.total.current, digest.total.previous) == (0, 3)
    assert digest.top_alerts == () and digest.storms == ()


# --- top alerts ---


def test_top_alerts_by_firings_ties_by_name_at_most_five() -> None:
    today = {"B": 4, "A": 4, "C": 9, "D": 1, "E": 2, "F": 1, "Zero": 0}
    digest = build_digest(REPORT_DAY, [day(0, total=21, by_alert=today), day(1, by_alert={"C": 3, "Gone": 5})])
    assert [(r.name, r.change.current, r.change.previous) for r in digest.top_alerts] == [
        ("C", 9, 3), ("A", 4, 0), ("B", 4, 0), ("E", 2, 0), ("D", 1, 0),
    ]


def test_top_alerts_with_fewer_names_than_the_limit() -> None:
    assert [r.name for r in top_alerts({"X": 1}, {})] == ["X"]
    assert top_alerts({}, {"X": 1}) == ()


# --- storms ---


def test_storms_are_signatures_with_at_least_five_alerts_top_three() -> None:
    signatures = {
        ("prod", "KubePodCrashLooping", "payments"): 41,
        ("prod", "KubePodCrashLooping", "checkout"): 5,  # exactly the threshold: a storm
        ("prod", "OOMKilled", "payments"): 4,  # one short
        ("staging", "NodeNotReady", None): 12,
        ("prod", "NodeNotReady", None): 12,  # tie on count: by alert, namespace, then cluster
    }
    digest = build_digest(REPORT_DAY, [day(0, total=74, by_signature=signatures)])
    assert [(s.alert, s.namespace, s.cluster, s.alerts) for s in digest.storms] == [
        ("KubePodCrashLooping", "payments", "prod", 41),
        ("NodeNotReady", None, "prod", 12),
        ("NodeNotReady", None, "staging", 12),
    ]
    assert STORM_MIN_ALERTS == 5
    assert [s.alerts for s in storms({("c", "a", "n"): 5, ("c", "b", "n"): 4})] == [5]


def test_no_storms_below_the_threshold() -> None:
    assert build_digest(REPORT_DAY, [day(0, total=4, by_signature={("c", "a", "n"): 4})]).storms == ()


@pytest.mark.parametrize("namespace", ["payments", None, 'we"ird#ns,[]'])
def test_signature_counter_names_round_trip(namespace: str | None) -> None:
    name = signature_name("prod#1", "Kube|Pod", namespace)
    assert parse_signature(name) == ("prod#1", "Kube|Pod", namespace)


def test_from_item_reads_signature_counters_and_ignores_malformed_ones() -> None:
    counts = DayCounts.from_item({
        "sk": "DAY#2026-11-26", "total": Decimal(9),
        "sig#" + signature_name("prod", "KubePodCrashLooping", "payments"): Decimal(7),
        "sig#" + signature_name("prod", "NodeNotReady", None): Decimal(2),
        "sig#not json": Decimal(1), "sig#[1,2,3]": Decimal(1), "sig#[\"a\",\"b\"]": Decimal(1),
    })
    assert counts.by_signature == {("prod", "KubePodCrashLooping", "payments"): 7, ("prod", "NodeNotReady", None): 2}
    assert counts.by_alert == {}


# --- time to resolve ---


@pytest.mark.parametrize(
    ("values", "expected"),
    [([300], 300), ([100, 300, 200], 200), ([100, 400], 250), ([1, 2], 2), ([5, 1, 9, 3], 4)],
)
def test_median_odd_and_even_counts(values: list[int], expected: int) -> None:
    assert median(values) == expected  # even: mean of the two middle ones, half rounded up


def test_resolve_times_median_and_longest() -> None:
    times = resolve_times([Resolution("a", 60, "X"), Resolution("b", 7200, "Y"), Resolution("c", 600, "Z"),
                           Resolution("d", 120, "X")])
    assert times is not None
    assert (times.resolved, times.median_seconds) == (4, 360)
    assert (times.longest.investigation_id, times.longest.alert, times.longest.seconds) == ("b", "Y", 7200)


def test_no_resolve_times_when_nothing_was_resolved() -> None:
    assert resolve_times([]) is None
    assert build_digest(REPORT_DAY, [day(0, total=3)]).resolve_times is None


def test_the_same_investigation_twice_counts_once() -> None:
    times = resolve_times([Resolution("a", 60), Resolution("a", 60), Resolution("b", 180)])
    assert times is not None
    assert (times.resolved, times.median_seconds) == (2, 120)


def test_resolve_seconds_from_firing_to_resolve_never_negative() -> None:
    fired = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert resolve_seconds(fired, datetime(2026, 11, 26, 9, 30, 15, tzinfo=UTC)) == 5415
    assert resolve_seconds(fired, datetime(2026, 11, 26, 7, 59, tzinfo=UTC)) == 0


def test_a_quiet_day_still_has_its_resolutions() -> None:
    digest = build_digest(REPORT_DAY, [day(1, total=2)], resolutions=[Resolution("a", 90)])
    assert digest.quiet is True
    assert digest.resolve_times is not None and digest.resolve_times.resolved == 1
