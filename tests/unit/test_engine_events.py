"""The outbound events as the engine receives them (CONTRACT.md, "Outbound events"), and their ids: the same change
always has the same id (so every retry de-duplicates), different changes never share one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sre_slack.contracts.engine_events import (
    ENGINE_EVENTS,
    SOURCE,
    EventUser,
    FeedbackRecorded,
    InvestigationAcknowledged,
    ReinvestigationRequested,
)
from sre_slack.domain.event_ids import acknowledged_event_id, feedback_event_id, reinvestigation_event_id
from sre_slack.engine_bus.publisher import MAX_ENTRIES_PER_REQUEST, BusEntry, _chunks
from sre_slack.services import engine_events
from sre_slack.storage.ratings import Rating

AT = datetime(2026, 11, 27, 8, 14, 5, tzinfo=UTC)
COMMON = {"event_id": "e1", "tenant_id": "t_acme", "investigation_id": "inv_1", "cluster": "production-us-east",
          "user": EventUser(id="U0ALICE", name="alice"), "at": AT}


def test_the_names_are_the_contracts() -> None:
    assert SOURCE == "ai-sre.slack"
    assert {model.detail_type: model for model in ENGINE_EVENTS} == {
        "feedback.recorded": FeedbackRecorded, "investigation.acknowledged": InvestigationAcknowledged,
        "investigation.reinvestigation_requested": ReinvestigationRequested}


def test_every_detail_carries_the_common_fields_with_at_in_utc() -> None:
    later = AT.astimezone(timezone(timedelta(hours=2)))
    detail = json.loads(InvestigationAcknowledged(**{**COMMON, "at": later}).to_detail())

    assert detail == {"version": "1", "event_id": "e1", "tenant_id": "t_acme", "investigation_id": "inv_1",
                      "cluster": "production-us-east", "user": {"id": "U0ALICE", "name": "alice"},
                      "at": "2026-11-27T08:14:05Z"}


def test_feedback_carries_reason_and_comment_only_when_the_modal_gave_them() -> None:
    rated = json.loads(FeedbackRecorded(**COMMON, rating="accurate").to_detail())
    commented = json.loads(FeedbackRecorded(**COMMON, rating="needs_improvement", reason="other",
                                            comment="Wrong cluster “prod”").to_detail())

    assert rated["rating"] == "accurate" and "reason" not in rated and "comment" not in rated
    assert (commented["reason"], commented["comment"]) == ("other", "Wrong cluster “prod”")
    # The builders name a user Slack sent no handle for by their id (the contract's `name` is always there).
    row = Rating(tenant_id="t_acme", investigation_id="inv_1", user_id="U1", rating="accurate", team_id="T1",
                 rated_at=1795767245, first_rated_at=1795767245)
    event = engine_events.feedback_recorded(row, "production-us-east")
    assert json.loads(event.to_detail())["user"] == {"id": "U1", "name": "U1"}
    assert event.event_id == feedback_event_id("t_acme", "inv_1", "U1", 0)


def test_a_rating_outside_the_contract_is_refused() -> None:
    with pytest.raises(ValueError, match="rating"):
        FeedbackRecorded(**COMMON, rating="brilliant")


def test_ids_are_deterministic_per_change_and_distinct_across_changes() -> None:
    first = feedback_event_id("t_acme", "inv_1", "U0ALICE", changes=0)
    assert first == feedback_event_id("t_acme", "inv_1", "U0ALICE", 0, 0)
    others = {
        feedback_event_id("t_acme", "inv_1", "U0ALICE", 1),  # the rating changed
        feedback_event_id("t_acme", "inv_1", "U0ALICE", 0, 1),  # a comment added to it
        feedback_event_id("t_acme", "inv_1", "U0BOB", 0),
        feedback_event_id("t_other", "inv_1", "U0ALICE", 0),
        acknowledged_event_id("t_acme", "inv_1"),
        reinvestigation_event_id("t_acme", "inv_1", "U0ALICE", "1795767245.000100"),
        reinvestigation_event_id("t_acme", "inv_1", "U0ALICE", "1795767246.000100"),
    }
    assert first not in others and len(others) == 7
    # Parts never run together: ("t_a", "cme") is not ("t_ac", "me").
    assert acknowledged_event_id("t_a", "cme") != acknowledged_event_id("t_ac", "me")


def test_put_events_requests_stay_within_eventbridge_limits() -> None:
    small = [BusEntry(f"e{i}", "feedback.recorded", "{}") for i in range(23)]
    assert [len(c) for c in _chunks(small)] == [MAX_ENTRIES_PER_REQUEST, MAX_ENTRIES_PER_REQUEST, 3]
    big = [BusEntry(f"e{i}", "feedback.recorded", "x" * 100_000) for i in range(5)]
    assert [len(c) for c in _chunks(big)] == [2, 2, 1]
