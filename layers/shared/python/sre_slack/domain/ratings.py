"""The three feedback ratings and what a message shows about them so far.

The rating keys are what the buttons' action ids, the stored rows, the digest counters and the outbound
events all use; the labels are worded exactly as CONTRACT.md has them. `summarize` turns the stored rows of
one investigation into the `FeedbackSummary` the message renders (counts and the rater to name). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

RATINGS: tuple[str, ...] = ("accurate", "partially_accurate", "needs_improvement")
RATING_LABELS: Mapping[str, str] = {
    "accurate": "Accurate",
    "partially_accurate": "Partially Accurate",
    "needs_improvement": "Needs Improvement",
}


class RatedRow(Protocol):
    """One user's rating of one investigation, as storage holds it."""

    @property
    def rating(self) -> str: ...

    @property
    def user_id(self) -> str: ...

    @property
    def rated_at(self) -> float: ...


@dataclass(frozen=True)
class FeedbackSummary:
    """What the message shows about ratings so far: counts per rating and the latest rater."""

    counts: Mapping[str, int] = field(default_factory=dict)
    latest_user_id: str | None = None
    latest_rating: str | None = None
    # How many of the ratings were given before the investigation was last revised (they stay, marked).
    before_revision: int = 0

    @property
    def total(self) -> int:
        return sum(max(0, self.counts.get(rating, 0)) for rating in RATINGS)


def given_before_revision(row: RatedRow, revised_at: float | None) -> bool:
    """A rating of the root cause as it was before the last re-investigation (`revised_at`, epoch seconds)."""
    return revised_at is not None and row.rated_at <= revised_at


def summarize(rows: Iterable[RatedRow], latest: RatedRow | None = None,
              revised_at: float | None = None) -> FeedbackSummary:
    """Counts per rating, the rater to name (`latest`, the click being answered, or the newest row), and how many
    were given before the last revision.

    Rows with a rating we do not know are left out of the counts; among rows rated at the same moment the
    newest is the one with the greatest user id, so the choice does not depend on the order of `rows`.
    """
    rows = list(rows)
    counts = dict.fromkeys(RATINGS, 0)
    for row in rows:
        if row.rating in counts:
            counts[row.rating] += 1
    named = latest or (max(rows, key=lambda row: (row.rated_at, row.user_id)) if rows else None)
    return FeedbackSummary(
        counts=counts,
        latest_user_id=named.user_id if named else None,
        latest_rating=named.rating if named else None,
        before_revision=sum(1 for row in rows if given_before_revision(row, revised_at)),
    )
