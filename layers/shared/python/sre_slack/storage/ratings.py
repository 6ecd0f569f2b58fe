"""Feedback ratings: one row per Slack user per investigation, and the accuracy counters behind the digest.

Row: `TENANT#<t>#INV#<i>` / `FEEDBACK#<user>`. A click writes in ONE `TransactWriteItems`:
- the row, conditioned on what was read (absent, or still holding the old rating), so two clicks racing or a
  Slack retry can never count twice: the loser re-reads and finds nothing left to do;
- `ADD rating#<new> 1` on the tenant's counters item for the UTC day of the click, and, for a change,
  `ADD rating#<old> -1` on the day the old rating was counted (so every rating is counted exactly once, on
  the day of the rater's latest choice, and no day ever goes negative);
- a condition check that the investigation was posted (its `SEEN` marker exists): a click naming an unknown
  investigation writes nothing.
Clicking the rating one already gave changes nothing at all.

What a rater said (the Needs Improvement modal's `reason` and `comment`) belongs to the rating it was said
with. A change of rating clears `reason`, `comment` and `commented_at` and keeps them as history in
`previous_reason`, `previous_comment`, `previous_commented_at`, with `previous_comment_rating` the rating
they were said with: the last words said with an earlier rating, carried on through later changes that
said nothing (Needs Improvement with a comment, then Accurate, then Partially Accurate still shows the
comment, as said with Needs Improvement).

Each change can carry its outbound event (`event`, built from the row as stored): its outbox item is written in
the same transaction (sre_slack.storage.outbox), so the event exists exactly when the change does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime
from typing import Any

from sre_slack.contracts.engine_events import EngineEvent
from sre_slack.domain.ratings import RATING_LABELS, FeedbackSummary, summarize
from sre_slack.storage import counters, keys, outbox
from sre_slack.storage.errors import UnknownInvestigation
from sre_slack.storage.table import Expression, TransactionFailed, retry_on_conflict, table

# The outbound event of a stored row (None: the change announces nothing).
EventOf = Callable[["Rating"], EngineEvent]

COMMENT_MAX = 2000


@dataclass(frozen=True)
class Rating:
    tenant_id: str
    investigation_id: str
    user_id: str
    rating: str
    team_id: str
    rated_at: int
    first_rated_at: int
    user_name: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    # UTC day whose counters hold this rating (None: not counted, e.g. a test investigation).
    counted_day: str | None = None
    previous_rating: str | None = None
    changes: int = 0
    reason: str | None = None
    comment: str | None = None
    commented_at: int | None = None
    # The last reason and comment said with an earlier rating (`previous_comment_rating`); see the module.
    previous_reason: str | None = None
    previous_comment: str | None = None
    previous_commented_at: int | None = None
    previous_comment_rating: str | None = None
    # Comments added to the current rating so far (the modal can be submitted again); names their events.
    comment_seq: int = 0

    @property
    def said_something(self) -> bool:
        """Whether a reason or comment goes with the current rating."""
        return self.reason is not None or self.comment is not None

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Rating:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_values(self) -> dict[str, Any]:
        return {**keys.feedback_key(self.tenant_id, self.investigation_id, self.user_id), **asdict(self)}


@dataclass(frozen=True)
class RecordOutcome:
    rating: Rating
    previous: str | None
    changed: bool


def get_rating(tenant_id: str, investigation_id: str, user_id: str) -> Rating | None:
    values = table().get(keys.feedback_key(tenant_id, investigation_id, user_id))
    return Rating.from_values(values) if values else None


def record_rating(tenant_id: str, investigation_id: str, *, user_id: str, rating: str, team_id: str,
                  user_name: str | None = None, channel_id: str | None = None, message_ts: str | None = None,
                  count: bool = True, now: datetime | None = None, event: EventOf | None = None) -> RecordOutcome:
    """Store the user's rating (new or changed) exactly once, with its `event`. Raises UnknownInvestigation."""
    if rating not in RATING_LABELS:
        raise ValueError(f"unknown rating {rating!r}")
    moment = now or datetime.now(UTC)
    for _attempt in retry_on_conflict():
        existing = get_rating(tenant_id, investigation_id, user_id)
        if existing is not None and existing.rating == rating:
            return RecordOutcome(existing, existing.rating, changed=False)
        stored = _next_row(existing, tenant_id, investigation_id, user_id=user_id, rating=rating, team_id=team_id,
                           user_name=user_name, channel_id=channel_id, message_ts=message_ts,
                           day=moment.astimezone(UTC).date() if count else None, at=int(moment.timestamp()))
        try:
            announce = [outbox.put_action(event(stored))] if event is not None else []
            table().transact([*_transaction(existing, stored), *announce])
        except TransactionFailed as exc:
            if exc.failed_at(0):
                raise UnknownInvestigation(investigation_id) from exc
            continue  # someone else wrote the row since we read it: look again
        return RecordOutcome(stored, existing.rating if existing else None, changed=True)
    raise AssertionError("unreachable: retry_on_conflict raises when attempts run out")


def _next_row(existing: Rating | None, tenant_id: str, investigation_id: str, *, user_id: str, rating: str,
              team_id: str, user_name: str | None, channel_id: str | None, message_ts: str | None,
              day: date | None, at: int) -> Rating:
    """The row after a new or changed rating: nothing said with it yet; what was said before kept as history."""
    history = _history(existing)
    return Rating(
        tenant_id=tenant_id, investigation_id=investigation_id, user_id=user_id, rating=rating, team_id=team_id,
        rated_at=at, first_rated_at=existing.first_rated_at if existing else at,
        user_name=user_name or (existing.user_name if existing else None),
        channel_id=channel_id or (existing.channel_id if existing else None),
        message_ts=message_ts or (existing.message_ts if existing else None),
        counted_day=day.isoformat() if day else None,
        previous_rating=existing.rating if existing else None,
        changes=existing.changes + 1 if existing else 0,
        **history,
    )


def _history(existing: Rating | None) -> dict[str, Any]:
    """The previous_* fields of the next row: what `existing` said with its rating, else its own history."""
    if existing is None:
        return {}
    if existing.said_something:
        return {"previous_reason": existing.reason, "previous_comment": existing.comment,
                "previous_commented_at": existing.commented_at, "previous_comment_rating": existing.rating}
    return {"previous_reason": existing.previous_reason, "previous_comment": existing.previous_comment,
            "previous_commented_at": existing.previous_commented_at,
            "previous_comment_rating": existing.previous_comment_rating}


def _transaction(existing: Rating | None, stored: Rating) -> list[dict[str, Any]]:
    slack_table = table()
    # First, so that a failure at index 0 unambiguously means "no such investigation".
    actions = [slack_table.check_action(keys.seen_key(stored.tenant_id, stored.investigation_id),
                                        "attribute_exists(pk)")]
    if existing is None:
        actions.append(slack_table.put_action(stored.to_values(), condition="attribute_not_exists(pk)"))
    else:
        expr = Expression()
        condition = expr.condition("{rating} = {:old} AND {at} = {:old_at}", rating="rating", old=existing.rating,
                                   at="rated_at", old_at=existing.rated_at)
        actions.append(slack_table.put_action(stored.to_values(), condition=condition, expr=expr))
    deltas: dict[str, dict[str, int]] = {}
    if stored.counted_day:
        deltas.setdefault(stored.counted_day, {})[stored.rating] = 1
    if existing is not None and existing.counted_day:
        day_deltas = deltas.setdefault(existing.counted_day, {})
        day_deltas[existing.rating] = day_deltas.get(existing.rating, 0) - 1
    return [*actions, *counters.rating_actions(stored.tenant_id, deltas)]


def add_comment(tenant_id: str, investigation_id: str, user_id: str, *, reason: str | None,
                comment: str | None, now: float | None = None, event: EventOf | None = None) -> Rating | None:
    """Attach what was wrong to the user's existing row, with its `event`; None when the user has no rating row.

    Saying again exactly what the row already holds (a retried submission) writes nothing and announces nothing.
    """
    said = (reason or None, comment[:COMMENT_MAX] if comment else None)
    for _attempt in retry_on_conflict():
        existing = get_rating(tenant_id, investigation_id, user_id)
        if existing is None:
            return None
        if (existing.reason, existing.comment) == said:
            return existing
        stored = replace(existing, reason=said[0], comment=said[1], commented_at=int(now or time.time()),
                         comment_seq=existing.comment_seq + 1)
        expr = Expression()
        # Still the row as read: the same rating moment and number of comments (absent on rows older than it).
        condition = expr.condition(
            "{at} = {:old_at} AND (attribute_not_exists({seq}) OR {seq} = {:old_seq})",
            at="rated_at", old_at=existing.rated_at, seq="comment_seq", old_seq=existing.comment_seq)
        slack_table = table()
        actions = [slack_table.update_action(keys.feedback_key(tenant_id, investigation_id, user_id),
                                             set_={"reason": stored.reason, "comment": stored.comment,
                                                   "commented_at": stored.commented_at,
                                                   "comment_seq": stored.comment_seq},
                                             condition=condition, expr=expr)]
        if event is not None:
            actions.append(outbox.put_action(event(stored)))
        try:
            slack_table.transact(actions)
        except TransactionFailed:
            continue  # the row changed since we read it (or was removed): look again
        return stored
    raise AssertionError("unreachable: retry_on_conflict raises when attempts run out")


def list_ratings(tenant_id: str, investigation_id: str) -> list[Rating]:
    """Every rating of the investigation, oldest first."""
    ratings = [Rating.from_values(values) for values in
               table().query(keys.investigation_pk(tenant_id, investigation_id), sk_prefix=keys.FEEDBACK_PREFIX)]
    return sorted(ratings, key=lambda r: (r.rated_at, r.user_id))


def feedback_summary(tenant_id: str, investigation_id: str) -> FeedbackSummary:
    """What the investigation message should show about feedback now (for re-posting or updating it)."""
    return summarize(list_ratings(tenant_id, investigation_id))
