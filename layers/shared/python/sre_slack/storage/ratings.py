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
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sre_slack.aws import dynamodb
from sre_slack.contracts.settings import get_settings
from sre_slack.domain.ratings import RATING_LABELS, FeedbackSummary, summarize
from sre_slack.storage import keys
from sre_slack.storage.items import from_item, to_attr, to_item

COMMENT_MAX = 2000
_ATTEMPTS = 4


class UnknownInvestigation(Exception):
    """The tenant has no posted investigation with this id."""


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

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Rating:
        return cls.from_values(from_item(item))

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Rating:
        """From an item already converted to plain values (as a Query over the whole investigation gives)."""
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_item(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return to_item({**keys.feedback_key(self.tenant_id, self.investigation_id, self.user_id), **values})


@dataclass(frozen=True)
class RecordOutcome:
    rating: Rating
    previous: str | None
    changed: bool


def _table() -> str:
    return get_settings().table_name


def _counter(rating: str) -> str:
    return f"rating#{rating}"


def get_rating(tenant_id: str, investigation_id: str, user_id: str) -> Rating | None:
    response = dynamodb().get_item(TableName=_table(), ConsistentRead=True,
                                   Key=to_item(keys.feedback_key(tenant_id, investigation_id, user_id)))
    item = response.get("Item")
    return Rating.from_item(item) if item else None


def record_rating(tenant_id: str, investigation_id: str, *, user_id: str, rating: str, team_id: str,
                  user_name: str | None = None, channel_id: str | None = None, message_ts: str | None = None,
                  count: bool = True, now: datetime | None = None) -> RecordOutcome:
    """Store the user's rating (new or changed) exactly once. Raises UnknownInvestigation."""
    if rating not in RATING_LABELS:
        raise ValueError(f"unknown rating {rating!r}")
    moment = now or datetime.now(UTC)
    for _ in range(_ATTEMPTS):
        existing = get_rating(tenant_id, investigation_id, user_id)
        if existing is not None and existing.rating == rating:
            return RecordOutcome(existing, existing.rating, changed=False)
        stored = _next_row(existing, tenant_id, investigation_id, user_id=user_id, rating=rating, team_id=team_id,
                           user_name=user_name, channel_id=channel_id, message_ts=message_ts,
                           day=moment.astimezone(UTC).date() if count else None, at=int(moment.timestamp()))
        try:
            dynamodb().transact_write_items(TransactItems=_transaction(existing, stored))
        except dynamodb().exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise UnknownInvestigation(investigation_id) from exc
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                continue  # someone else wrote the row since we read it: look again
            raise
        return RecordOutcome(stored, existing.rating if existing else None, changed=True)
    raise RuntimeError("feedback row kept changing under concurrent clicks")


def _next_row(existing: Rating | None, tenant_id: str, investigation_id: str, *, user_id: str, rating: str,
              team_id: str, user_name: str | None, channel_id: str | None, message_ts: str | None,
              day: date | None, at: int) -> Rating:
    return Rating(
        tenant_id=tenant_id, investigation_id=investigation_id, user_id=user_id, rating=rating, team_id=team_id,
        rated_at=at, first_rated_at=existing.first_rated_at if existing else at,
        user_name=user_name or (existing.user_name if existing else None),
        channel_id=channel_id or (existing.channel_id if existing else None),
        message_ts=message_ts or (existing.message_ts if existing else None),
        counted_day=day.isoformat() if day else None,
        previous_rating=existing.rating if existing else None,
        changes=existing.changes + 1 if existing else 0,
        reason=existing.reason if existing else None,
        comment=existing.comment if existing else None,
        commented_at=existing.commented_at if existing else None,
    )


def _transaction(existing: Rating | None, stored: Rating) -> list[dict[str, Any]]:
    table = _table()
    tenant = stored.tenant_id
    # First, so that a failure at index 0 unambiguously means "no such investigation".
    actions: list[dict[str, Any]] = [{"ConditionCheck": {
        "TableName": table, "Key": to_item(keys.seen_key(tenant, stored.investigation_id)),
        "ConditionExpression": "attribute_exists(pk)",
    }}]
    if existing is None:
        actions.append({"Put": {"TableName": table, "Item": stored.to_item(),
                                "ConditionExpression": "attribute_not_exists(pk)"}})
    else:
        actions.append({"Put": {"TableName": table, "Item": stored.to_item(),
                                "ConditionExpression": "#rating = :old AND #at = :old_at",
                                "ExpressionAttributeNames": {"#rating": "rating", "#at": "rated_at"},
                                "ExpressionAttributeValues": {":old": to_attr(existing.rating),
                                                              ":old_at": to_attr(existing.rated_at)}}})
    deltas: dict[str, dict[str, int]] = {}
    if stored.counted_day:
        deltas.setdefault(stored.counted_day, {})[stored.rating] = 1
    if existing is not None and existing.counted_day:
        day_deltas = deltas.setdefault(existing.counted_day, {})
        day_deltas[existing.rating] = day_deltas.get(existing.rating, 0) - 1
    for day, changes in deltas.items():
        # One update per day item: a transaction may not touch an item twice.
        names = {f"#r{i}": _counter(rating) for i, rating in enumerate(changes)}
        values = {f":d{i}": to_attr(delta) for i, delta in enumerate(changes.values())}
        actions.append({"Update": {
            "TableName": table, "Key": to_item(keys.counts_key(tenant, date.fromisoformat(day))),
            "UpdateExpression": "ADD " + ", ".join(f"#r{i} :d{i}" for i in range(len(changes))),
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        }})
    return actions


def add_comment(tenant_id: str, investigation_id: str, user_id: str, *, reason: str | None,
                comment: str | None) -> bool:
    """Attach what was wrong to the user's existing row; False when the user has no rating row."""
    try:
        dynamodb().update_item(
            TableName=_table(),
            Key=to_item(keys.feedback_key(tenant_id, investigation_id, user_id)),
            UpdateExpression="SET #reason = :reason, #comment = :comment, #at = :at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#reason": "reason", "#comment": "comment", "#at": "commented_at"},
            ExpressionAttributeValues={
                ":reason": to_attr(reason) if reason else {"NULL": True},
                ":comment": to_attr(comment[:COMMENT_MAX]) if comment else {"NULL": True},
                ":at": to_attr(int(time.time())),
            },
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def list_ratings(tenant_id: str, investigation_id: str) -> list[Rating]:
    """Every rating of the investigation, oldest first."""
    ratings: list[Rating] = []
    request: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": to_attr(keys.investigation_pk(tenant_id, investigation_id)),
                                      ":prefix": to_attr(keys.FEEDBACK_PREFIX)},
        "ConsistentRead": True,
    }
    while True:
        response = dynamodb().query(**request)
        ratings.extend(Rating.from_item(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return sorted(ratings, key=lambda r: (r.rated_at, r.user_id))


def feedback_summary(tenant_id: str, investigation_id: str) -> FeedbackSummary:
    """What the investigation message should show about feedback now (for re-posting or updating it)."""
    return summarize(list_ratings(tenant_id, investigation_id))
