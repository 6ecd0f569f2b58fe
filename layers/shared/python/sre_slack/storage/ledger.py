"""The post ledger: one item per message that must reach one channel exactly once, for every pipeline.

Investigations keep theirs under the investigation (`TENANT#<t>#INV#<i>` / `DELIVERY#<channel>`), digests under
the tenant's digest partition (`TENANT#<t>#DIGEST` / `DAY#<day>#CHANNEL#<channel>`); the states, the conditional
writes and the lease are the same:

    (absent) --claim--> posting --posted--> posted --update refused--> gone
                          |  \\--certainly not posted (429, 503, no connection)--> retry --claim--> posting
                          |   \\--channel / payload / installation refuses--> failed | undeliverable
                          \\--maybe posted (ambiguous answer, or the lease expired)--> unknown --redrive--> posting

`posting` is a lease: `lease_until` is the latest moment the attempt holding it can still be running (its
invocation's deadline plus a margin). A live lease means "someone is posting right now"; an expired one means
that invocation died between claiming and recording Slack's answer, so Slack may or may not have the message.
Which outcome leads to which status is the delivery policy's decision (sre_slack.domain.delivery_policy).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sre_slack.domain.delivery_policy import DeliveryStatus
from sre_slack.storage.table import ConditionFailed, Expression, Key, table

# Digest markers written before the ledger was shared used these names; read them as today's statuses.
_LEGACY_STATUSES = {"failed_retryable": DeliveryStatus.RETRY, "failed_permanent": DeliveryStatus.FAILED}
# Their claims carried `claimed_at` instead of a lease; the worker could not run longer than this.
_LEGACY_CLAIM_SECONDS = 120


@dataclass(frozen=True)
class Attempt:
    """One invocation's try at a delivery: who holds the lease, and until when."""

    id: str
    lease_until: float

    @classmethod
    def new(cls, lease_until: float) -> Attempt:
        return cls(uuid.uuid4().hex, lease_until)


@dataclass(frozen=True)
class Delivery:
    """One channel's message, as the ledger holds it."""

    key: Key
    channel: str
    status: DeliveryStatus
    ts: str | None = None
    reason: str | None = None
    attempt_id: str | None = None
    lease_until: float | None = None
    # Which rendering the message in Slack shows (investigations: payload + resolved state).
    rendered: str | None = None
    # The SQS message whose dead-letter copy may redrive an `unknown` delivery.
    unknown_source: str | None = None
    updated_at: int = 0

    def lease_alive(self, now: float | None = None) -> bool:
        return self.status == DeliveryStatus.POSTING and (self.lease_until or 0) > (time.time() if now is None else now)

    @classmethod
    def from_values(cls, values: Mapping[str, Any], channel: str) -> Delivery:
        raw = str(values.get("status") or DeliveryStatus.UNKNOWN)
        status = _LEGACY_STATUSES.get(raw) or DeliveryStatus(raw)
        lease = values.get("lease_until")
        if lease is None and values.get("claimed_at") is not None:
            lease = float(values["claimed_at"]) + _LEGACY_CLAIM_SECONDS
        return cls(key={"pk": str(values["pk"]), "sk": str(values["sk"])}, channel=channel, status=status,
                   ts=values.get("ts"), reason=values.get("reason"), attempt_id=values.get("attempt_id"),
                   lease_until=lease, rendered=values.get("rendered"), unknown_source=values.get("unknown_source"),
                   updated_at=int(values.get("updated_at") or 0))


@dataclass(frozen=True)
class Claim:
    """A claim's answer: claimed, or the delivery as someone else left it (None when it does not exist)."""

    claimed: bool
    current: Delivery | None = None


def _now() -> int:
    return int(time.time())


def _claimed_values(channel: str, attempt: Attempt) -> dict[str, Any]:
    return {"status": str(DeliveryStatus.POSTING), "channel": channel, "attempt_id": attempt.id,
            "lease_until": attempt.lease_until, "updated_at": _now()}


# ------------------------------------------------------------------------------------------------ in transactions


def claim_action(key: Key, channel: str, attempt: Attempt, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A transaction action creating the delivery as claimed by `attempt` (fails if it exists)."""
    return table().put_action({**key, **(extra or {}), **_claimed_values(channel, attempt)},
                              condition="attribute_not_exists(pk)")


def settled_action(key: Key, channel: str, status: DeliveryStatus, reason: str,
                   extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A transaction action creating the delivery with a final status and its reason (fails if it exists)."""
    return table().put_action({**key, **(extra or {}), "channel": channel, "status": str(status), "reason": reason,
                               "updated_at": _now()}, condition="attribute_not_exists(pk)")


# ------------------------------------------------------------------------------------------------ single writes


def claim(key: Key, channel: str, attempt: Attempt, *, when_absent: bool = False, redriven_from: str | None = None,
          extra: Mapping[str, Any] | None = None) -> Claim:
    """Take the delivery for `attempt`: from `retry` always, from absent when `when_absent`, and from `unknown`
    only for the redrive of the dead-letter copy that parked it (`redriven_from`, consumed by the claim). One
    request whatever the answer: a refusal comes back with the delivery as stored."""
    expr = Expression()
    alternatives = [expr.condition("{status} IN ({:retry}, {:legacy})", status="status",
                                   retry=str(DeliveryStatus.RETRY), legacy="failed_retryable")]
    if when_absent:
        alternatives.insert(0, "attribute_not_exists(pk)")
    values = {**(extra or {}), **_claimed_values(channel, attempt)}
    if redriven_from:
        alternatives.append(expr.condition("({status} = {:unknown} AND {source} = {:from})", status="status",
                                           unknown=str(DeliveryStatus.UNKNOWN), source="unknown_source",
                                           **{"from": redriven_from}))
        values["redriven_from"] = redriven_from
    try:
        table().update(key, set_=values, add={"attempts": 1}, remove=("reason", "unknown_source"),
                       condition=" OR ".join(alternatives), expr=expr)
    except ConditionFailed as refused:
        current = Delivery.from_values(refused.item, channel) if refused.item else None
        return Claim(False, current)
    return Claim(True)


def mark_posted(key: Key, *, ts: str, rendered: str | None = None) -> None:
    """The message is in Slack. Unconditional: whatever anyone concluded meanwhile, this is the truth."""
    table().update(key, set_={"status": str(DeliveryStatus.POSTED), "ts": ts, "rendered": rendered, "reason": None,
                              "posted_at": _now(), "updated_at": _now()}, remove=("lease_until",))


def mark_rendered(key: Key, *, rendered: str) -> None:
    """chat.update succeeded: the message now shows this rendering (unless it was settled meanwhile)."""
    expr = Expression()
    condition = expr.condition("{status} = {:posted}", status="status", posted=str(DeliveryStatus.POSTED))
    try:
        table().update(key, set_={"rendered": rendered, "updated_at": _now()}, condition=condition, expr=expr)
    except ConditionFailed:
        return


def release(key: Key, attempt: Attempt, *, reason: str) -> bool:
    """Slack certainly did not take the message: a later attempt may claim it. False when `attempt` no longer
    holds the lease (someone settled it meanwhile)."""
    expr = Expression()
    condition = expr.condition("{status} = {:posting} AND {attempt} = {:mine}", status="status",
                               posting=str(DeliveryStatus.POSTING), attempt="attempt_id", mine=attempt.id)
    try:
        table().update(key, set_={"status": str(DeliveryStatus.RETRY), "reason": reason, "updated_at": _now()},
                       remove=("lease_until",), condition=condition, expr=expr)
    except ConditionFailed:
        return False
    return True


def settle(key: Key, status: DeliveryStatus, reason: str) -> None:
    """A final outcome (failed, undeliverable, gone): never attempted again."""
    table().update(key, set_={"status": str(status), "reason": reason, "updated_at": _now()},
                   remove=("lease_until",))


def park_unknown(key: Key, *, reason: str, source_message_id: str, expired_lease_only: bool = False) -> bool:
    """`posting` -> `unknown`: Slack may or may not have the message. `source_message_id` is the SQS message whose
    dead-letter copy an operator may redrive. With `expired_lease_only`, only a claim whose lease ran out (its
    invocation died) is parked. False when the delivery was no longer such a claim."""
    expr = Expression()
    condition = expr.condition("{status} = {:posting}", status="status", posting=str(DeliveryStatus.POSTING))
    if expired_lease_only:
        now = time.time()
        condition += expr.condition(
            " AND ({lease} < {:now} OR (attribute_not_exists({lease}) AND {claimed} < {:stale}))",
            lease="lease_until", now=now, claimed="claimed_at", stale=now - _LEGACY_CLAIM_SECONDS)
    try:
        table().update(key, set_={"status": str(DeliveryStatus.UNKNOWN), "reason": reason,
                                  "unknown_source": source_message_id, "updated_at": _now()},
                       remove=("lease_until",), condition=condition, expr=expr)
    except ConditionFailed:
        return False
    return True


def get(key: Key, channel: str) -> Delivery | None:
    values = table().get(key)
    return Delivery.from_values(values, channel) if values else None
