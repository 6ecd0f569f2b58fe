"""The digest as a reader sees it in Slack: the numbers and their changes, escaped names, limits held."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sre_slack.blocks import digest_phrases as phrase
from sre_slack.blocks.digest import build_digest_message
from sre_slack.blocks.limits import validate_message
from sre_slack.blocks.text import HIDDEN_CHARACTERS
from sre_slack.domain.digest_stats import Resolution, build_digest
from tests.digest_examples import REPORT_DAY, busy_day, counts


def texts(message: Any) -> list[str]:
    """Every text a reader can see, block by block."""
    found: list[str] = []
    for block in message.as_kwargs()["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found.extend(element["text"] for element in block.get("elements", []) if "text" in element)
    return found


def section(message: Any, heading: str) -> str:
    [text] = [t for t in texts(message) if t.startswith(heading)]
    return text


def table_rows(text: str) -> list[str]:
    [block] = re.findall(r"```(.*?)```", text, flags=re.DOTALL)
    return block.split("\n")


def test_busy_day_reads_as_the_change_first() -> None:
    message = build_digest_message(busy_day(), tenant_name="Acme", portal_url="https://portal.example.com/d")
    assert message.as_kwargs()["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Daily alert digest — Thursday, 26 Nov 2026", "emoji": True},
    }
    assert message.text == "Alert digest for 2026-11-26: 42 alerts (▲ +12 vs previous day)"
    totals = section(message, "*42 alerts*")
    assert totals.startswith("*42 alerts* ▲ +12 (+40%) vs 30 the day before")
    assert table_rows(totals) == [
        "critical   5  ▲ 3 → 5",
        "warning   30  ▲ +3 (+11%)",
        "info       7  🆕 +7",
    ]
    assert any("*Acme*" in t for t in texts(message))
    assert any("<https://portal.example.com/d|Open the portal>" in t for t in texts(message))
    assert validate_message(message.as_kwargs()["blocks"], message.text) == []


def test_namespace_table_top_with_change_then_others() -> None:
    message = build_digest_message(busy_day())
    rows = table_rows(section(message, "*By namespace*"))
    assert rows == [
        "payments               20  ▲ 10 → 20",
        "checkout               12  ▼ -8 (-40%)",
        "kube-system             6  🆕 +6",
        "others (3 namespaces)   4  🆕 +4",
    ]


def test_alerts_without_namespace_get_their_own_row() -> None:
    digest = build_digest(
        REPORT_DAY,
        [counts(0, total=9, by_namespace={"payments": 4}), counts(1, total=8, by_namespace={"payments": 1})],
    )
    rows = table_rows(section(build_digest_message(digest), "*By namespace*"))
    assert rows == ["payments        4  ▲ 1 → 4", "(no namespace)  5  ▼ 7 → 5"]


def test_what_changed_names_new_rising_falling_and_quiet_types() -> None:
    text = section(build_digest_message(busy_day()), "*What changed*")
    lines = text.split("\n")[1:]
    assert lines == [
        "▲ `KubePodCrashLooping` 18 → 30 (+12)",
        "▲ `OOMKilled` 3 → 7 (+4)",
        "▼ `DiskPressure` 8 → 5 (-3)",
        "💤 `NodeNotReady` gone quiet: 1 the day before, none now",
    ]


def test_new_alert_type_is_announced() -> None:
    digest = build_digest(REPORT_DAY, [counts(0, total=7, by_alert={"OOMKilled": 7}), counts(1, total=1)])
    text = section(build_digest_message(digest), "*What changed*")
    assert "🆕 `OOMKilled` new: 7 alerts" in text


def test_week_line_with_and_without_data_a_week_before() -> None:
    with_data = section(build_digest_message(busy_day()), "*Last 7 days*")
    assert "`▁▁▁▁▁▆█`" in with_data
    assert "Fri 20 Nov – Thu 26 Nov (low 0, high 42)" in with_data
    assert "Week over week: ▲ +22 (+110%) vs 20 on Thu 19 Nov" in with_data

    digest = build_digest(REPORT_DAY, [counts(0, total=5), counts(1, total=5)])
    without = section(build_digest_message(digest), "*Last 7 days*")
    assert "Week over week: no data for Thu 19 Nov" in without


def test_accuracy_line_only_when_rated() -> None:
    rated = build_digest_message(busy_day())
    assert "Accuracy (12 ratings): Accurate 67% · Partially Accurate 25% · Needs Improvement 8%" in texts(rated)
    unrated = build_digest_message(build_digest(REPORT_DAY, [counts(0, total=3)]))
    assert not any(t.startswith("Accuracy") for t in texts(unrated))


def test_clusters_only_when_more_than_one() -> None:
    rows = table_rows(section(build_digest_message(busy_day()), "*By cluster*"))
    assert rows == ["prod-us  30  ■ 0", "staging  12  🆕 +12"]
    single = build_digest(REPORT_DAY, [counts(0, total=3, by_cluster={"prod": 3})])
    assert not any(t.startswith("*By cluster*") for t in texts(build_digest_message(single)))


def test_falling_flat_and_vanishing_totals() -> None:
    down = build_digest_message(build_digest(REPORT_DAY, [counts(0, total=30), counts(1, total=42)]))
    assert section(down, "*30 alerts*").startswith("*30 alerts* ▼ -12 (-29%) vs 42 the day before")
    assert down.text == "Alert digest for 2026-11-26: 30 alerts (▼ -12 vs previous day)"

    flat = build_digest_message(build_digest(REPORT_DAY, [counts(0, total=1), counts(1, total=1)]))
    assert section(flat, "*1 alert*").startswith("*1 alert* ■ same as the day before")
    assert flat.text == "Alert digest for 2026-11-26: 1 alert (■ same as previous day)"

    gone = build_digest_message(build_digest(REPORT_DAY, [counts(1, total=4)]))
    assert "Quiet day: no alerts yesterday (4 the day before)" in texts(gone)
    assert gone.text == "Alert digest for 2026-11-26: no alerts (4 the day before)"

    new = build_digest_message(build_digest(REPORT_DAY, [counts(0, total=4)]))
    assert section(new, "*4 alerts*").startswith("*4 alerts* 🆕 none the day before")


def test_tiny_and_huge_relative_changes_stay_readable() -> None:
    tiny = build_digest_message(build_digest(REPORT_DAY, [counts(0, total=1001), counts(1, total=1000)]))
    assert section(tiny, "*1,001 alerts*").startswith("*1,001 alerts* ▲ +1 (+<1%) vs 1,000 the day before")
    huge = build_digest_message(build_digest(REPORT_DAY, [counts(0, total=420), counts(1, total=30)]))
    assert section(huge, "*420 alerts*").startswith("*420 alerts* ▲ +390 (×14) vs 30 the day before")


def test_quiet_day_says_so_briefly() -> None:
    message = build_digest_message(build_digest(REPORT_DAY, []), tenant_name="Acme")
    assert "Quiet day: no alerts yesterday, nor the day before." in texts(message)
    assert message.text == "Alert digest for 2026-11-26: no alerts, all quiet"
    assert not any(t.startswith(("*By namespace*", "*What changed*", "*Last 7 days*")) for t in texts(message))
    assert validate_message(message.as_kwargs()["blocks"], message.text) == []


def test_quiet_day_after_a_busy_week_still_shows_the_week() -> None:
    message = build_digest_message(build_digest(REPORT_DAY, [counts(3, total=9)]))
    assert "Quiet day: no alerts yesterday, nor the day before." in texts(message)
    assert "`▁▁▁█▁▁▁`" in section(message, "*Last 7 days*")


HOSTILE = "<!channel> & <@U123|boss> <https://evil.example|click>"


def _raw_brackets_outside_our_links(text: str) -> list[str]:
    without_links = re.sub(r"<https://portal\.example\.com/[^|<>]*\|Open the portal>", "", text)
    return re.findall(r"[<>]", without_links)


def test_outside_names_are_escaped_everywhere() -> None:
    digest = build_digest(
        REPORT_DAY,
        [
            counts(0, total=3, by_namespace={HOSTILE: 2, "a&b": 1}, by_alert={HOSTILE: 3},
                   by_cluster={HOSTILE: 2, "b<c": 1}),
            counts(1, total=1, by_alert={"x>y": 1}),
        ],
    )
    message = build_digest_message(digest, tenant_name=HOSTILE, portal_url="https://portal.example.com/d?a=1&b=2")
    for text in texts(message)[1:]:  # the header is plain_text and holds only the date
        assert _raw_brackets_outside_our_links(text) == [], text
        assert re.search(r"&(?!amp;|lt;|gt;)", text) is None, text
    everything = "\n".join(texts(message))
    assert "&lt;!channel&gt;" in everything
    assert "a&amp;b" in everything
    assert "`x&gt;y` gone quiet" in everything
    assert "<https://portal.example.com/d?a=1&amp;b=2|Open the portal>" in everything


def test_long_names_keep_table_columns_aligned() -> None:
    digest = build_digest(
        REPORT_DAY,
        [counts(0, total=1111, by_namespace={"n" * 300: 1000, "short": 100, "<&>" * 50: 11})],
    )
    rows = table_rows(section(build_digest_message(digest), "*By namespace*"))
    # escaping changes byte length, not what a reader sees: compare the unescaped rows
    visible = [r.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for r in rows]
    count_ends = {re.search(r"\d\s\s[▲▼■🆕]", row).start() for row in visible}  # type: ignore[union-attr]
    assert len(count_ends) == 1
    assert all(len(row) <= 45 for row in visible)


def test_backtick_in_a_name_does_not_break_inline_code() -> None:
    digest = build_digest(REPORT_DAY, [counts(0, total=2, by_alert={"bad`name": 2})])
    text = section(build_digest_message(digest), "*What changed*")
    assert text.count("`") % 2 == 0
    assert "bad" in text and "name" in text


def test_no_directional_or_invisible_character_from_a_name_reaches_slack() -> None:
    hidden = "".join(sorted(HIDDEN_CHARACTERS))
    digest = build_digest(REPORT_DAY, [counts(0, total=3, by_namespace={f"pay{hidden}ments": 2},
                                              by_alert={f"Kube{hidden}Pod": 3}, by_cluster={f"prod{hidden}": 3})])

    message = build_digest_message(digest, tenant_name=f"Ac{hidden}me")

    posted = json.dumps(message.as_kwargs(), ensure_ascii=False)
    assert not HIDDEN_CHARACTERS & set(posted)
    assert "payments" in posted and "`KubePod`" in posted and "*Acme*" in posted


def test_hostile_sizes_still_make_a_valid_message() -> None:
    long = "x<&>" * 75  # 300 characters, each escape-heavy
    today = counts(
        0,
        total=1_000_000,
        by_severity={"critical": 400_000, "warning": 500_000, "info": 100_000},
        by_namespace={f"{long}{i}": i + 1 for i in range(500)},
        by_alert={f"{long}{i}": i % 9 for i in range(2000)},
        by_cluster={f"{long}{i}": i + 1 for i in range(300)},
        ratings={"accurate": 10**6, "needs_improvement": 1},
        by_signature={(f"{long}{i}", f"{long}{i}", f"{long}{i}"): i for i in range(300)},
    )
    yesterday = counts(
        1,
        total=900_000,
        by_namespace={f"{long}{i}": 3 for i in range(250, 750)},
        by_alert={f"{long}{i}": i % 7 + 1 for i in range(1000, 3000)},
        by_cluster={f"{long}{i}": 2 for i in range(150, 450)},
    )
    resolved = [Resolution(f"inv_{i}", i * 977, f"{long}{i}") for i in range(5000)]
    digest = build_digest(REPORT_DAY, [today, yesterday, counts(7, total=5)], resolutions=resolved)
    message = build_digest_message(digest, tenant_name=long, portal_url="https://portal.example.com/" + "a" * 500)
    assert validate_message(message.as_kwargs()["blocks"], message.text) == []
    everything = "\n".join(texts(message))
    # 750 namespaces over the two days, 8 shown; the rest of the total had no namespace
    assert "others (742 namespaces)" in everything
    assert "(no namespace)" in everything
    assert "more new alert types" in everything
    assert "more gone quiet" in everything
    assert "*Storms*" in everything and "5,000 resolved" in everything


names = st.text(min_size=1, max_size=300)
counters = st.dictionaries(names, st.integers(min_value=0, max_value=10**7), max_size=40)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    ns_today=counters, ns_yesterday=counters, alerts_today=counters, alerts_yesterday=counters,
    clusters=counters, tenant=st.one_of(st.none(), names),
    totals=st.lists(st.integers(min_value=0, max_value=10**9), min_size=8, max_size=8),
    ratings=st.dictionaries(st.sampled_from(["accurate", "partially_accurate", "needs_improvement"]),
                            st.integers(min_value=0, max_value=10**6)),
)
def test_any_digest_makes_a_valid_escaped_message(
    ns_today: dict[str, int], ns_yesterday: dict[str, int], alerts_today: dict[str, int],
    alerts_yesterday: dict[str, int], clusters: dict[str, int], tenant: str | None, totals: list[int],
    ratings: dict[str, int],
) -> None:
    days = [counts(offset, total=total) for offset, total in enumerate(totals)]
    days[0] = counts(0, total=totals[0], by_namespace=ns_today, by_alert=alerts_today, by_cluster=clusters,
                     ratings=ratings)
    days[1] = counts(1, total=totals[1], by_namespace=ns_yesterday, by_alert=alerts_yesterday)
    message = build_digest_message(build_digest(REPORT_DAY, days), tenant_name=tenant)
    assert validate_message(message.as_kwargs()["blocks"], message.text) == []
    assert message.text.startswith("Alert digest for 2026-11-26: ")
    for text in texts(message)[1:]:
        assert _raw_brackets_outside_our_links(text) == []


def test_a_resent_digest_says_so_under_its_title_and_in_its_notification() -> None:
    plain = build_digest_message(busy_day(), portal_url="https://portal.example.com/d")
    message = build_digest_message(busy_day(), portal_url="https://portal.example.com/d", resent=True)

    blocks = message.as_kwargs()["blocks"]
    assert blocks[1] == {"type": "context", "block_id": "resent", "elements": [
        {"type": "mrkdwn", "text": "↻ re-sent after a Slack error; an earlier copy may exist"}]}
    assert blocks[:1] + blocks[2:] == plain.as_kwargs()["blocks"]
    assert message.text == "[re-sent] " + plain.text
    assert validate_message(blocks, message.text) == []


def _headings(message: Any) -> list[str]:
    return [t.split("\n")[0].split("*")[1] for t in texts(message) if t.startswith("*")]


def test_breakdowns_then_top_alerts_storms_and_time_to_resolve() -> None:
    message = build_digest_message(busy_day())
    # "By cluster" sits with the other breakdowns, before the alert lists
    assert _headings(message) == ["42 alerts", "By namespace", "By cluster", "Top alerts", "Storms", "What changed",
                                  "Time to resolve", "Last 7 days"]
    assert table_rows(section(message, "*Top alerts*")) == [
        "KubePodCrashLooping  30  ▲ 18 → 30",
        "OOMKilled             7  ▲ 3 → 7",
        "DiskPressure          5  ▼ 8 → 5",
    ]
    assert section(message, "*Storms*").split("\n")[1:] == [
        "🌀 `KubePodCrashLooping` · `payments` · `prod-us` — 18 alerts",
        "🌀 `KubePodCrashLooping` · `checkout` · `staging` — 12 alerts",
        "🌀 `DiskPressure` · (no namespace) · `prod-us` — 5 alerts",
    ]
    assert section(message, "*Time to resolve*") == (
        "*Time to resolve* 3 resolved: median 14 min, longest 1 h 2 min (`KubePodCrashLooping`)")
    assert validate_message(message.as_kwargs()["blocks"], message.text) == []


def test_no_storm_or_resolve_section_without_them() -> None:
    digest = build_digest(REPORT_DAY, [counts(0, total=4, by_alert={"A": 4}, by_signature={("c", "A", "n"): 4})])
    headings = _headings(build_digest_message(digest))
    assert "Top alerts" in headings
    assert "Storms" not in headings and "Time to resolve" not in headings


def test_small_bases_show_both_counts_not_a_percentage() -> None:
    digest = build_digest(REPORT_DAY, [counts(0, total=6, by_namespace={"payments": 6}),
                                       counts(1, total=3, by_namespace={"payments": 3})])
    message = build_digest_message(digest)
    assert section(message, "*6 alerts*").startswith("*6 alerts* ▲ +3 vs 3 the day before")
    assert table_rows(section(message, "*By namespace*")) == ["payments  6  ▲ 3 → 6"]
    assert "%" not in "\n".join(texts(message))


def test_quiet_day_after_alerts_says_so_in_one_line_with_its_resolutions() -> None:
    digest = build_digest(REPORT_DAY, [counts(1, total=3, by_namespace={"payments": 3})],
                          resolutions=[Resolution("inv_1", 5400, "OOMKilled")])
    message = build_digest_message(digest)
    assert "Quiet day: no alerts yesterday (3 the day before)" in texts(message)
    assert "*Time to resolve* 1 resolved, in 1 h 30 min (`OOMKilled`)" in texts(message)
    assert not any(t.startswith(("*0 alerts*", "*By namespace*", "*Top alerts*")) for t in texts(message))
    assert "-100%" not in json.dumps(message.as_kwargs(), ensure_ascii=False)
    assert message.text == "Alert digest for 2026-11-26: no alerts (3 the day before)"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h"), (12_000, "3 h 20 min"),
     (86_400, "1 d"), (187_200, "2 d 4 h")],
)
def test_durations_read_in_two_units_at_most(seconds: int, text: str) -> None:
    assert phrase.duration(seconds) == text


def test_storm_and_resolve_names_are_escaped() -> None:
    digest = build_digest(REPORT_DAY, [counts(0, total=9, by_signature={(HOSTILE, HOSTILE, HOSTILE): 9})],
                          resolutions=[Resolution("inv_1", 60, HOSTILE)])
    message = build_digest_message(digest)
    for heading in ("*Storms*", "*Time to resolve*"):
        text = section(message, heading)
        assert _raw_brackets_outside_our_links(text) == [], text
        assert "&lt;!channel&gt;" in text
