"""The post ledger: one item per message that must reach one channel exactly once, for every pipeline.

Investigations keep theirs under the investigation (`TENANT#<t>#INV#<i>` / `DELIVERY#<channel>`), digests under
the tenant's digest partition (`TENANT#<t>#DIGEST` / `DAY#<day>#CHANNEL#<channel>`); the states, the conditional
writes and the lease are the same:

    (absent) --claim--> posting --posted--> posted --message deleted or no longer editable--> gone
                          |  \\--not posted (429, 503, failed before sending)--> retry --claim--> posting
                          |   \\--maybe posted (an ambiguous answer) --> retry, resend --claim--> posting (labelled)
                          |    \\--channel / payload / installation refuses--> failed | undeliverable
                          \\--lease expired (the invocation died mid-post) --claim, resend--> posting (labelled)

An update Slack refuses for good (channel archived, token revoked) leaves the delivery `posted`, with
`update_refused` saying why the message shows an older version, until an update succeeds.

`posting` is a lease: `lease_until` is the latest moment the attempt holding it can still be running (its
invocation's deadline plus a margin). A live lease means "someone is posting right now"; an expired one means that
invocation died between claiming and recording Slack's answer, so Slack may or may not have the message. Either way
of "maybe posted" sets `resend`, which stays: every later post of that delivery, and every update of the message
it posted, says that it was re-sent and that an earlier copy may exist. Which outcome leads to which status is the
delivery policy's decision (sre_slack.domain.delivery_policy).
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
    # Slack may have a copy from an earlier attempt: posts and updates carry the re-sent line.
    resend: bool = False
    # How many attempts ended with Slack's answer unknown (the re-send backoff grows with it).
    resends: int = 0
    # The last chat.update Slack refused (channel, payload or token): the message shows `rendered`, not the latest.
    update_refused: str | None = None
    updated_at: int = 0
    # Storms and threads (docs/posting.md "Alert storms"): the reply's thread, the delivery's part in its group
    # ("first" | "member"), the group's first investigation and the group item.
    thread_ts: str | None = None
    role: str | None = None
    parent: str | None = None
    group: Key | None = None

    def lease_alive(self, now: float | None = None) -> bool:
        return self.status == DeliveryStatus.POSTING and (self.lease_until or 0) > (time.time() if now is None else now)

    @classmethod
    def from_values(cls, values: Mapping[str, Any], channel: str) -> Delivery:
        raw = str(values.get("status") or DeliveryStatus.RETRY)
        status = _LEGACY_STATUSES.get(raw) or DeliveryStatus(raw)
        lease = values.get("lease_until")
        if lease is None and values.get("claimed_at") is not None:
            lease = float(values["claimed_at"]) + _LEGACY_CLAIM_SECONDS
        return cls(key={"pk": str(values["pk"]), "sk": str(values["sk"])}, channel=channel, status=status,
                   ts=values.get("ts"), reason=values.get("reason"), attempt_id=values.get("attempt_id"),
                   lease_until=lease, rendered=values.get("rendered"),
                   # A delivery parked `unknown` (before re-sends were automatic) may have a copy in Slack too.
                   resend=bool(values.get("resend")) or status == DeliveryStatus.UNKNOWN,
                   resends=int(values.get("resends") or 0), update_refused=values.get("update_refused"),
                   updated_at=int(values.get("updated_at") or 0), thread_ts=values.get("thread_ts"),
                   role=values.get("role"), parent=values.get("parent"),
                   group={"pk": str(values["group_pk"]), "sk": str(values["group_sk"])}
                   if values.get("group_pk") and values.get("group_sk") else None)


@dataclass(frozen=True)
class Claim:
    """A claim's answer: claimed (and whether this post is a labelled re-send), or the delivery as someone else left
    it (None when it does not exist)."""

    claimed: bool
    current: Delivery | None = None
    resend: bool = False


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


def claim(key: Key, channel: str, attempt: Attempt, *, when_absent: bool = False,
          extra: Mapping[str, Any] | None = None) -> Claim:
    """Take the delivery for `attempt`: from `retry` (and a legacy `unknown`), from a `posting` whose lease expired
    (its invocation died: Slack may have the message, so this post is a re-send), and from absent when
    `when_absent`. One request whatever the answer: a refusal comes back with the delivery as stored."""
    expr = Expression()
    now = time.time()
    alternatives = [
        expr.condition("{status} IN ({:retry}, {:unknown}, {:legacy})", status="status",
                       retry=str(DeliveryStatus.RETRY), unknown=str(DeliveryStatus.UNKNOWN), legacy="failed_retryable"),
        expr.condition("({status} = {:posting} AND ({lease} < {:now} OR (attribute_not_exists({lease}) "
                       "AND {claimed} < {:stale})))", status="status", posting=str(DeliveryStatus.POSTING),
                       lease="lease_until", now=now, claimed="claimed_at", stale=now - _LEGACY_CLAIM_SECONDS),
    ]
    if when_absent:
        alternatives.insert(0, "attribute_not_exists(pk)")
    try:
        previous = table().update(key, set_={**(extra or {}), **_claimed_values(channel, attempt)},
                                  add={"attempts": 1}, remove=("reason",), condition=" OR ".join(alternatives),
                                  expr=expr, return_old=True)
    except ConditionFailed as refused:
        current = Delivery.from_values(refused.item, channel) if refused.item else None
        return Claim(False, current)
    if previous is None:
        return Claim(True)
    before = Delivery.from_values(previous, channel)
    taken_over = before.status == DeliveryStatus.POSTING
    if taken_over:
        # The dead attempt may have posted: every later post and update of this delivery says so.
        table().update(key, set_={"resend": True})
    return Claim(True, before, resend=before.resend or taken_over)


def mark_posted(key: Key, *, ts: str, rendered: str | None = None, thread_ts: str | None = None) -> None:
    """The message is in Slack (as a reply in `thread_ts`'s thread, when given). Unconditional: whatever anyone
    concluded meanwhile, this is the truth."""
    table().update(key, set_={"status": str(DeliveryStatus.POSTED), "ts": ts, "rendered": rendered, "reason": None,
                              "posted_at": _now(), "updated_at": _now(), "thread_ts": thread_ts},
                   remove=("lease_until", "update_refused"))


def mark_rendered(key: Key, *, rendered: str) -> None:
    """chat.update succeeded: the message now shows this rendering (unless it was settled meanwhile)."""
    expr = Expression()
    condition = expr.condition("{status} = {:posted}", status="status", posted=str(DeliveryStatus.POSTED))
    try:
        table().update(key, set_={"rendered": rendered, "updated_at": _now()}, remove=("update_refused",),
                       condition=condition, expr=expr)
    except ConditionFailed:
        return


def note_update_refused(key: Key, reason: str) -> None:
    """Slack refused to update a posted message for good: say why beside it, so an operator who finds it stale
    can tell (the delivery stays `posted`: the message is there)."""
    table().update(key, set_={"update_refused": reason, "updated_at": _now()})


def release(key: Key, attempt: Attempt, *, reason: str, resend: bool = False) -> int | None:
    """The post did not (certainly) make it: a later attempt may claim it. With `resend`, Slack may have it anyway:
    the delivery is marked for a labelled re-send. Returns how many re-sends the delivery has had (the backoff's
    input), or None when `attempt` no longer holds the lease (someone settled it meanwhile)."""
    expr = Expression()
    condition = expr.condition("{status} = {:posting} AND {attempt} = {:mine}", status="status",
                               posting=str(DeliveryStatus.POSTING), attempt="attempt_id", mine=attempt.id)
    values: dict[str, Any] = {"status": str(DeliveryStatus.RETRY), "reason": reason, "updated_at": _now()}
    if resend:
        values["resend"] = True
    try:
        stored = table().update(key, set_=values, add={"resends": 1} if resend else None, remove=("lease_until",),
                                condition=condition, expr=expr, return_new=True)
    except ConditionFailed:
        return None
    return int((stored or {}).get("resends") or 0)


def settle(key: Key, status: DeliveryStatus, reason: str) -> None:
    """A final outcome (failed, undeliverable, gone): never attempted again."""
    table().update(key, set_={"status": str(status), "reason": reason, "updated_at": _now()},
                   remove=("lease_until",))


def get(key: Key, channel: str) -> Delivery | None:
    values = table().get(key)
    return Delivery.from_values(values, channel) if values else None
