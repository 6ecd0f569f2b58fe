"""The rating store: exactly-once counting, changes across days, concurrent clicks."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import boto3
import pytest

from sre_slack.contracts.settings import get_settings
from sre_slack.storage import keys
from sre_slack.storage import ratings as store
from sre_slack.storage.table import from_item, to_item

DAY1 = datetime(2026, 11, 26, 23, 59, tzinfo=UTC)
DAY2 = datetime(2026, 11, 27, 0, 1, tzinfo=UTC)


@pytest.fixture
def seen(aws) -> str:
    boto3.client("dynamodb").put_item(TableName=get_settings().table_name,
                                      Item=to_item({**keys.seen_key("t_acme", "inv_01")}))
    return "inv_01"


def ratings_on(day: date) -> dict[str, int]:
    item = boto3.client("dynamodb").get_item(TableName=get_settings().table_name,
                                             Key=to_item(keys.counts_key("t_acme", day))).get("Item") or {}
    return {k.removeprefix("rating#"): v for k, v in from_item(item).items() if k.startswith("rating#")}


def test_changed_rating_moves_the_count_to_the_day_of_the_change(seen):
    store.record_rating("t_acme", seen, user_id="U1", rating="accurate", team_id="T1", now=DAY1)
    outcome = store.record_rating("t_acme", seen, user_id="U1", rating="needs_improvement", team_id="T1", now=DAY2)

    assert outcome.changed and outcome.previous == "accurate"
    assert ratings_on(DAY1.date()) == {"accurate": 0}
    assert ratings_on(DAY2.date()) == {"needs_improvement": 1}
    row = store.get_rating("t_acme", seen, "U1")
    assert (row.rating, row.counted_day, row.first_rated_at) == ("needs_improvement", "2026-11-27",
                                                                 int(DAY1.timestamp()))


def test_changing_back_and_forth_on_one_day_keeps_one_count(seen):
    for rating in ("accurate", "partially_accurate", "accurate", "needs_improvement"):
        store.record_rating("t_acme", seen, user_id="U1", rating=rating, team_id="T1", now=DAY2)
    assert ratings_on(DAY2.date()) == {"accurate": 0, "partially_accurate": 0, "needs_improvement": 1}
    assert store.get_rating("t_acme", seen, "U1").changes == 3


def test_concurrent_identical_clicks_count_once(seen):
    outcomes: list[store.RecordOutcome] = []

    def click() -> None:
        outcomes.append(store.record_rating("t_acme", seen, user_id="U1", rating="accurate", team_id="T1",
                                            now=DAY2))

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 6 and sum(o.changed for o in outcomes) == 1
    assert ratings_on(DAY2.date()) == {"accurate": 1}


def test_unknown_investigation_raises_and_writes_nothing(aws):
    with pytest.raises(store.UnknownInvestigation):
        store.record_rating("t_acme", "inv_missing", user_id="U1", rating="accurate", team_id="T1", now=DAY2)
    assert store.list_ratings("t_acme", "inv_missing") == []
    assert ratings_on(DAY2.date()) == {}


def test_summary_names_the_newest_rater(seen):
    store.record_rating("t_acme", seen, user_id="U1", rating="accurate", team_id="T1", now=DAY1)
    store.record_rating("t_acme", seen, user_id="U2", rating="needs_improvement", team_id="T1", now=DAY2)
    summary = store.feedback_summary("t_acme", seen)
    assert (summary.latest_user_id, summary.latest_rating, summary.total) == ("U2", "needs_improvement", 2)


def _said(row: store.Rating) -> tuple:
    return (row.rating, row.reason, row.comment, row.commented_at)


def _history(row: store.Rating) -> tuple:
    return (row.previous_comment_rating, row.previous_reason, row.previous_comment, row.previous_commented_at)


def test_a_changed_rating_keeps_what_was_said_with_the_old_one_as_history(seen):
    store.record_rating("t_acme", seen, user_id="U1", rating="needs_improvement", team_id="T1", now=DAY1)
    assert store.add_comment("t_acme", seen, "U1", reason="wrong_commands", comment="Needs --to-revision=3")
    commented_at = store.get_rating("t_acme", seen, "U1").commented_at
    assert commented_at is not None

    store.record_rating("t_acme", seen, user_id="U1", rating="accurate", team_id="T1", now=DAY2)

    row = store.get_rating("t_acme", seen, "U1")
    # Nothing was said with Accurate; what was said with Needs Improvement is kept apart, as history.
    assert _said(row) == ("accurate", None, None, None)
    assert _history(row) == ("needs_improvement", "wrong_commands", "Needs --to-revision=3", commented_at)
    assert row.previous_rating == "needs_improvement"
    item = boto3.client("dynamodb").get_item(TableName=get_settings().table_name,
                                             Key=to_item(keys.feedback_key("t_acme", seen, "U1")))["Item"]
    assert {"reason", "comment", "commented_at"}.isdisjoint(item)


def test_history_survives_later_changes_that_said_nothing_and_follows_new_words(seen):
    store.record_rating("t_acme", seen, user_id="U1", rating="needs_improvement", team_id="T1", now=DAY1)
    store.add_comment("t_acme", seen, "U1", reason="wrong_root_cause", comment="It was the node pool")
    store.record_rating("t_acme", seen, user_id="U1", rating="accurate", team_id="T1", now=DAY2)
    store.record_rating("t_acme", seen, user_id="U1", rating="partially_accurate", team_id="T1", now=DAY2)

    row = store.get_rating("t_acme", seen, "U1")
    assert _said(row)[:3] == ("partially_accurate", None, None)
    assert _history(row)[:3] == ("needs_improvement", "wrong_root_cause", "It was the node pool")
    assert row.previous_rating == "accurate"

    store.record_rating("t_acme", seen, user_id="U1", rating="needs_improvement", team_id="T1", now=DAY2)
    store.add_comment("t_acme", seen, "U1", reason="missing_context", comment=None)
    store.record_rating("t_acme", seen, user_id="U1", rating="accurate", team_id="T1", now=DAY2)

    assert _history(store.get_rating("t_acme", seen, "U1"))[:3] == ("needs_improvement", "missing_context", None)


def test_clicking_the_same_rating_again_keeps_its_comment(seen):
    store.record_rating("t_acme", seen, user_id="U1", rating="needs_improvement", team_id="T1", now=DAY1)
    store.add_comment("t_acme", seen, "U1", reason="other", comment="Wrong cluster")

    outcome = store.record_rating("t_acme", seen, user_id="U1", rating="needs_improvement", team_id="T1", now=DAY2)

    assert not outcome.changed
    row = store.get_rating("t_acme", seen, "U1")
    assert (row.reason, row.comment) == ("other", "Wrong cluster")
    assert _history(row) == (None, None, None, None)
