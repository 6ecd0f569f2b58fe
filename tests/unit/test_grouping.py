"""The pure storm decisions (sre_slack.domain.grouping) and the routing document's `grouping`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from sre_slack.contracts.investigation import parse_investigation_message
from sre_slack.contracts.routing import RoutingDocument
from sre_slack.domain.durations import duration_between as duration_text
from sre_slack.domain.grouping import (
    GroupCounts,
    breaks_out,
    continues,
    count_line,
    first_message_wait,
    group_for,
    refresh_interval,
    refresh_wait,
    window_start,
)
from sre_slack.domain.routing import resolve_channels
from tests.posting import example


def _inv(**alert: object):
    message = example()
    message["alert"] |= alert
    return parse_investigation_message(json.dumps(message))


def test_alerts_of_one_window_share_a_group_whatever_order_they_come_in():
    first = group_for(_inv(fired_at="2026-11-27T08:12:00Z"), "C0PROD", 10)
    later = group_for(_inv(fired_at="2026-11-27T08:19:59Z"), "C0PROD", 10)
    assert first == later
    assert first.window_start == datetime(2026, 11, 27, 8, 10, tzinfo=UTC)


def test_next_window_other_alert_other_namespace_other_channel_are_other_groups():
    base = group_for(_inv(fired_at="2026-11-27T08:12:00Z"), "C0PROD", 10)
    assert group_for(_inv(fired_at="2026-11-27T08:20:00Z"), "C0PROD", 10) != base
    assert group_for(_inv(name="KubeNodeNotReady"), "C0PROD", 10) != base
    assert group_for(_inv(namespace="checkout"), "C0PROD", 10) != base
    assert group_for(_inv(), "C0OTHER", 10) != base


def test_a_storm_continues_into_the_next_window_while_within_the_window_of_its_first():
    first = datetime(2026, 11, 27, 8, 18, tzinfo=UTC)
    nxt = group_for(_inv(fired_at="2026-11-27T08:21:00Z"), "C0PROD", 10)
    assert nxt.previous(10) == group_for(_inv(fired_at="2026-11-27T08:18:00Z"), "C0PROD", 10)
    assert nxt.previous(10).escalate("critical") == nxt.escalate("critical").previous(10)
    assert continues(first, datetime(2026, 11, 27, 8, 21, tzinfo=UTC), 10)
    assert continues(first, datetime(2026, 11, 27, 8, 28, tzinfo=UTC), 10)  # exactly the window: still in
    assert not continues(first, datetime(2026, 11, 27, 8, 28, 1, tzinfo=UTC), 10)
    assert not continues(first, datetime(2026, 11, 27, 8, 17, tzinfo=UTC), 10)  # before its first: no


def test_window_start_is_aligned_on_event_time():
    assert window_start(datetime(2026, 11, 27, 8, 59, 59, tzinfo=UTC), 60) == datetime(2026, 11, 27, 8, tzinfo=UTC)
    assert window_start(datetime(2026, 11, 27, 8, 12, 30, tzinfo=UTC), 1) == datetime(2026, 11, 27, 8, 12, tzinfo=UTC)


def test_only_a_more_severe_alert_breaks_out():
    assert breaks_out("warning", "critical")
    assert breaks_out("info", "warning")
    assert not breaks_out("critical", "critical")
    assert not breaks_out("critical", "info")


def test_count_line():
    assert count_line(GroupCounts()) is None
    latest = datetime(2026, 11, 27, 8, 47, 10, tzinfo=UTC)
    assert count_line(GroupCounts(41, latest, 3)) == "+41 similar in thread · latest 08:47 · 3 resolved"
    assert count_line(GroupCounts(1, latest)) == "+1 similar in thread · latest 08:47"


def test_duration_text():
    start = datetime(2026, 11, 27, 8, 12, tzinfo=UTC)
    assert duration_text(start, datetime(2026, 11, 27, 8, 47, tzinfo=UTC)) == "35 min"
    assert duration_text(start, datetime(2026, 11, 27, 10, 17, tzinfo=UTC)) == "2 h 5 min"
    assert duration_text(start, datetime(2026, 11, 27, 9, 12, tzinfo=UTC)) == "1 h"
    assert duration_text(start, datetime(2026, 11, 29, 9, 12, tzinfo=UTC)) == "2 d 1 h"
    assert duration_text(start, start) == "less than a minute"
    assert duration_text(start, datetime(2026, 11, 27, 8, 0, tzinfo=UTC)) == "less than a minute"


def test_refresh_wait_and_its_growing_interval():
    assert refresh_wait(None, 100.0) == 0.0
    assert refresh_wait(105.0, 102.0) == 3.0
    assert refresh_wait(105.0, 110.0) == 0.0
    assert [refresh_interval(n) for n in (1, 2, 3, 4, 5, 6)] == [5, 10, 20, 40, 60, 60]
    assert refresh_interval(3, first=0) == 0


ROUTE = {"cluster": "production-us-east", "channels": ["C0PROD"]}


def test_routing_grouping_defaults_on_with_ten_minutes():
    doc = RoutingDocument.model_validate({"routes": [ROUTE]})
    decision = resolve_channels(doc, cluster="production-us-east", workspace=None, severity="critical")
    assert decision.grouping_window("C0PROD") == 10
    assert "grouping" not in doc.to_json_dict()


def test_routing_grouping_window_and_off_switches():
    doc = RoutingDocument.model_validate({"grouping": {"window_minutes": 30}, "default_channels": ["C0DEF"],
                                          "routes": [ROUTE, ROUTE | {"channels": ["C0LOUD"], "grouping": False}]})
    decision = resolve_channels(doc, cluster="production-us-east", workspace=None, severity="critical")
    assert decision.grouping_window("C0PROD") == 30
    assert decision.grouping_window("C0LOUD") is None
    assert doc.to_json_dict()["grouping"] == {"window_minutes": 30}
    off = RoutingDocument.model_validate({"grouping": False, "default_channels": ["C0DEF"]})
    assert resolve_channels(off, cluster="x", workspace=None, severity="info").grouping_window("C0DEF") is None
    assert off.to_json_dict()["grouping"] is False


@pytest.mark.parametrize("grouping", [{"window_minutes": 0}, {"window_minutes": 241}, {"window_minutes": "10"},
                                      {"window_minutes": True}, {"minutes": 10}, True, "off", 10])
def test_routing_grouping_refuses_bad_values(grouping):
    with pytest.raises(ValidationError):
        RoutingDocument.model_validate({"grouping": grouping})


@pytest.mark.parametrize("grouping", [True, {"window_minutes": 5}, "false"])
def test_route_grouping_takes_only_false(grouping):
    with pytest.raises(ValidationError):
        RoutingDocument.model_validate({"routes": [ROUTE | {"grouping": grouping}]})


@pytest.mark.parametrize("field", ["source_url", "runbook_url"])
@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x.example.com/a", "https://x.example.com/a b",
                                 "/relative", "https://x.example.com/<@U1>"])
def test_alert_links_must_be_http_urls(field, url):
    message = example()
    message["alert"][field] = url
    with pytest.raises(ValueError):
        parse_investigation_message(json.dumps(message))


def test_alert_links_accepted():
    inv = _inv(source_url="https://grafana.example.com/alerting/1", runbook_url="http://runbooks.example.com/crash")
    assert inv.alert.source_url == "https://grafana.example.com/alerting/1"


def test_a_member_waits_longer_each_time_its_first_is_not_there_yet():
    assert [first_message_wait(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert first_message_wait(9) == 300 and first_message_wait(50) == 300
