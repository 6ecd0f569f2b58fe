"""Storm groups (sre_slack.domain.grouping): one item per channel, alert and window, `TENANT#<t>#GROUP#<identity>` /
`WINDOW#<start>[#ESCALATED#<severity>]`.

- `first_id`, `first_severity`: written once by the conditional put that makes an investigation the group's first;
  every later join reads them back from the refusal (one request either way), so concurrent batches agree.
- `members`, `fired`, `resolved`: string/number sets, so adding the same investigation twice (a redelivery, a
  retry) changes nothing; the count line is their size.
- `dirty` / `next_refresh_at` / `refreshes`: the debounce of the first message's count line. A change sets
  `dirty`; one invocation takes the refresh with a conditional write (dirty, and `next_refresh_at` passed), which
  removes `dirty`, pushes `next_refresh_at` out by the growing interval (domain.grouping.refresh_interval) and
  answers the sets as they are at that moment. Whoever finds it dirty but too early comes back later through
  SQS, so the last change always lands.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sre_slack.contracts.investigation import InvestigationCompleted
from sre_slack.domain.grouping import COUNT_REFRESH_SECONDS, GroupCounts, GroupId, refresh_interval, refresh_wait
from sre_slack.storage import keys
from sre_slack.storage.table import ConditionFailed, Expression, Key, table


@dataclass(frozen=True)
class Group:
    key: Key
    first_id: str
    first_severity: str
    first_fired_at: datetime | None = None
    members: frozenset[str] = frozenset()
    fired: frozenset[float] = frozenset()
    resolved: frozenset[str] = frozenset()
    next_refresh_at: float | None = None
    refreshes: int = 0
    dirty: bool = False

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Group:
        return cls(key={"pk": str(values["pk"]), "sk": str(values["sk"])}, first_id=str(values["first_id"]),
                   first_severity=str(values.get("first_severity") or "info"),
                   first_fired_at=datetime.fromtimestamp(int(values["first_fired"]), UTC)
                   if values.get("first_fired") is not None else None,
                   members=frozenset(values.get("members") or ()),
                   fired=frozenset(float(v) for v in values.get("fired") or ()),
                   resolved=frozenset(values.get("resolved") or ()),
                   next_refresh_at=float(values["next_refresh_at"])
                   if values.get("next_refresh_at") is not None else None,
                   refreshes=int(values.get("refreshes") or 0), dirty=values.get("dirty") is not None)

    @property
    def counts(self) -> GroupCounts:
        latest = datetime.fromtimestamp(max(self.fired), UTC) if self.fired else None
        return GroupCounts(members=len(self.members - {self.first_id}), latest_fired_at=latest,
                           resolved=len(self.resolved))


@dataclass(frozen=True)
class Refresh:
    """The answer of `take_refresh`: this invocation refreshes (`group` as of now), or must come back after
    `later` seconds, or neither (nothing changed since the last refresh)."""

    group: Group | None = None
    later: float | None = None


def key_for(tenant_id: str, group: GroupId) -> Key:
    return keys.group_key(tenant_id, group.identity, group.window_start.isoformat().replace("+00:00", "Z"),
                          group.escalated)


def first_item(key: Key, inv: InvestigationCompleted) -> dict[str, Any]:
    """The group item that makes `inv` its first (put only where absent: `join`, or the first sighting's
    transaction, which tries it optimistically)."""
    return {**key, "first_id": inv.investigation_id, "first_severity": inv.alert.severity,
            "first_fired": int(inv.alert.fired_at.timestamp()), "created_at": int(time.time())}


@dataclass(frozen=True)
class NewGroup:
    """A group the first sighting's transaction starts optimistically: its item, put only where absent, and the
    same alerts' group of the window before, checked in the same transaction not to be one this alert continues
    (no read for a lone alert; a storm going on there fails the transaction and the alert joins it)."""

    item: dict[str, Any]
    previous: Key
    continues_from: int  # epoch seconds: a previous group whose first fired at or after this one goes on


def starting(key: Key, previous: Key, inv: InvestigationCompleted, window_minutes: int) -> NewGroup:
    return NewGroup(first_item(key, inv), previous, int(inv.alert.fired_at.timestamp()) - window_minutes * 60)


def join(key: Key, inv: InvestigationCompleted) -> Group:
    """Make `inv` the group's first if the group is new; the group as stored either way (one request)."""
    values = first_item(key, inv)
    try:
        table().put(values, condition="attribute_not_exists(pk)")
    except ConditionFailed as exists:
        stored = exists.item if exists.item is not None else table().get(key)
        if stored is None:  # cannot be: a put refused because the item exists
            raise
        return Group.from_values(stored)
    return Group.from_values(values)


def add_member(key: Key, inv: InvestigationCompleted) -> None:
    """Count `inv` in the group (idempotent) and mark the count line for a refresh."""
    table().update(key, add={"members": {inv.investigation_id}, "fired": {int(inv.alert.fired_at.timestamp())}},
                   set_={"dirty": int(time.time())})


def add_resolved(key: Key, investigation_id: str) -> None:
    table().update(key, add={"resolved": {investigation_id}}, set_={"dirty": int(time.time())})


def mark_dirty(key: Key) -> None:
    """A refresh that did not reach Slack: the next invocation that looks takes it again."""
    table().update(key, set_={"dirty": int(time.time())})


def get(key: Key) -> Group | None:
    values = table().get(key)
    return Group.from_values(values) if values else None


def take_refresh(key: Key, now: float | None = None) -> Refresh:
    """Take the count line's refresh if it is due (see the module)."""
    now = time.time() if now is None else now
    first = COUNT_REFRESH_SECONDS
    expr = Expression()
    condition = expr.condition("attribute_exists({dirty}) AND (attribute_not_exists({at}) OR {at} <= {:now})",
                               dirty="dirty", at="next_refresh_at", now=now)
    try:
        values = table().update(key, set_={"next_refresh_at": now + first}, add={"refreshes": 1},
                                remove=("dirty",), condition=condition, expr=expr, return_new=True)
    except ConditionFailed as refused:
        if refused.item is None or refused.item.get("dirty") is None:
            return Refresh()
        at = refused.item.get("next_refresh_at")
        return Refresh(later=max(1.0, refresh_wait(float(at) if at is not None else None, now)))
    group = Group.from_values(values or {})
    interval = refresh_interval(group.refreshes, first)
    if interval > first:
        # Won the refresh: the next one waits longer (a later winner cannot slip in between: `first` holds).
        table().update(key, set_={"next_refresh_at": now + interval})
    return Refresh(group=group)
