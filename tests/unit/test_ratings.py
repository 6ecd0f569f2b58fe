"""What the message says about ratings so far, from the stored rows of one investigation."""

from __future__ import annotations

from dataclasses import dataclass

from sre_slack.domain.ratings import RATING_LABELS, RATINGS, FeedbackSummary, summarize


@dataclass(frozen=True)
class Row:
    user_id: str
    rating: str
    rated_at: int


def test_the_labels_are_worded_as_the_contract_has_them() -> None:
    assert [RATING_LABELS[rating] for rating in RATINGS] == ["Accurate", "Partially Accurate", "Needs Improvement"]


def test_counts_every_rating_and_names_the_newest_rater() -> None:
    rows = [Row("U1", "accurate", 100), Row("U2", "needs_improvement", 300), Row("U3", "accurate", 200)]

    summary = summarize(rows)

    assert summary == FeedbackSummary(
        counts={"accurate": 2, "partially_accurate": 0, "needs_improvement": 1},
        latest_user_id="U2",
        latest_rating="needs_improvement",
    )
    assert summary.total == 3


def test_the_click_being_answered_is_named_even_if_another_row_looks_newer() -> None:
    clicked = Row("U1", "partially_accurate", 100)

    summary = summarize([clicked, Row("U2", "accurate", 500)], latest=clicked)

    assert (summary.latest_user_id, summary.latest_rating) == ("U1", "partially_accurate")


def test_ratings_at_the_same_second_name_the_same_rater_in_any_order() -> None:
    rows = [Row("U1", "accurate", 100), Row("U9", "needs_improvement", 100)]

    assert summarize(rows).latest_user_id == summarize(reversed(rows)).latest_user_id == "U9"


def test_an_unknown_rating_is_not_counted() -> None:
    summary = summarize([Row("U1", "excellent", 100), Row("U2", "accurate", 50)])

    assert summary.counts == {"accurate": 1, "partially_accurate": 0, "needs_improvement": 0}
    assert summary.total == 1


def test_no_rows_means_nobody_to_name() -> None:
    assert summarize([]) == FeedbackSummary(counts=dict.fromkeys(RATINGS, 0))
