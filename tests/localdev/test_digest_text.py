"""The digest as the local CLI prints it: the same numbers and phrases as the Slack message, names in full."""

from __future__ import annotations

from localdev.digest_text import render_digest_text
from sre_slack.domain.digest_stats import build_digest
from tests.digest_examples import REPORT_DAY, busy_day, counts


def test_a_busy_day_prints_every_section_with_its_changes() -> None:
    digest = busy_day()

    assert render_digest_text(digest, tenant_name="Acme").splitlines() == [
        "Daily alert digest — Thursday, 26 Nov 2026",
        "Acme",
        "",
        "42 alerts ▲ +12 (+40%) vs 30 the day before",
        "  critical   5  ▲ 3 → 5",
        "  warning   30  ▲ +3 (+11%)",
        "  info       7  🆕 +7",
        "",
        "By namespace",
        "  payments               20  ▲ 10 → 20",
        "  checkout               12  ▼ -8 (-40%)",
        "  kube-system             6  🆕 +6",
        "  others (3 namespaces)   4  🆕 +4",
        "",
        "By cluster",
        "  prod-us  30  ■ 0",
        "  staging  12  🆕 +12",
        "",
        "Top alerts",
        "  KubePodCrashLooping  30  ▲ 18 → 30",
        "  OOMKilled             7  ▲ 3 → 7",
        "  DiskPressure          5  ▼ 8 → 5",
        "",
        "Storms (alike alerts: same cluster, alert and namespace)",
        "  🌀 KubePodCrashLooping · payments · prod-us — 18 alerts",
        "  🌀 KubePodCrashLooping · checkout · staging — 12 alerts",
        "  🌀 DiskPressure · (no namespace) · prod-us — 5 alerts",
        "",
        "What changed",
        "  ▲ Rising: KubePodCrashLooping 18 → 30 (+12), OOMKilled 3 → 7 (+4)",
        "  ▼ Falling: DiskPressure 8 → 5 (-3)",
        "  Gone quiet: NodeNotReady (1 the day before)",
        "",
        "Time to resolve: 3 resolved: median 14 min, longest 1 h 2 min (KubePodCrashLooping)",
        "Last 7 days: ▁▁▁▁▁▆█  low 0, high 42",
        "Week over week: ▲ +22 (+110%) vs 20 on Thu 19 Nov",
        "Accuracy (12 ratings): Accurate 67% · Partially Accurate 25% · Needs Improvement 8%",
    ]


def test_new_types_and_long_lists_say_how_many_more() -> None:
    digest = build_digest(
        REPORT_DAY,
        [counts(0, total=14, by_alert={f"Alert{i}": 2 for i in range(7)}, by_namespace={"<ns> & co": 14})],
    )

    text = render_digest_text(digest)

    assert "  🆕 New: Alert0 (2), Alert1 (2), Alert2 (2), Alert3 (2), Alert4 (2) and 2 more" in text
    # Printed to a terminal: the name as it is, not escaped for Slack.
    assert "  <ns> & co  14  🆕 +14" in text
    assert "(no namespace)" not in text


def test_a_quiet_day_is_three_lines() -> None:
    assert render_digest_text(build_digest(REPORT_DAY, [])).splitlines() == [
        "Daily alert digest — Thursday, 26 Nov 2026",
        "Quiet day: no alerts yesterday, nor the day before.",
        "Last 7 days: ▁▁▁▁▁▁▁  low 0, high 0",
    ]


def test_a_quiet_day_after_alerts_says_how_many_the_day_before() -> None:
    assert render_digest_text(build_digest(REPORT_DAY, [counts(1, total=3)])).splitlines()[1] == (
        "Quiet day: no alerts yesterday (3 the day before)")
