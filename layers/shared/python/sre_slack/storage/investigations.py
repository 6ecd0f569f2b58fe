"""What is remembered of each investigation: the `SEEN` item, and the one transaction of its first sighting.

Everything of an investigation shares the partition `TENANT#<t>#INV#<i>`: `SEEN` (the last payload received, as
JSON, gzip when large, plus the hash of every payload version and the resolve time), one ledger delivery per
routed channel (`DELIVERY#<channel>`, sre_slack.storage.ledger), one rating row per user (`FEEDBACK#<user>`), the
acknowledgement (`ACK`, sre_slack.storage.acknowledgements) and the outbox of its events (`OUTBOX#<event id>`).
One Query reads them all. The first sighting writes SEEN, counts the alert for the digest and claims or settles
every channel in ONE transaction, so a redelivery, a concurrent delivery or a retry after a timeout can never
count or claim twice.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sre_slack.contracts.investigation import InvestigationCompleted
from sre_slack.domain.delivery_policy import DeliveryStatus
from sre_slack.storage import counters, keys, ledger
from sre_slack.storage.acknowledgements import Acknowledgement
from sre_slack.storage.groups import NewGroup
from sre_slack.storage.ledger import Attempt, Delivery
from sre_slack.storage.ratings import Rating
from sre_slack.storage.table import ConditionFailed, Expression, Key, TransactionFailed, table

# Payloads above this are stored gzip-compressed (a DynamoDB item holds at most 400 KB).
GZIP_ABOVE_BYTES = 32_000
# DynamoDB transactions hold at most 100 actions: SEEN + counters + one per channel.
MAX_CHANNELS_PER_INVESTIGATION = 98
# The cluster an event names when the investigation's SEEN does not say (see cluster_of).
UNKNOWN_CLUSTER = "unknown"
# Stands for "no channel" in a delivery (nothing routed, or the tenant cannot be posted to at all).
NO_CHANNEL = "-"


@dataclass(frozen=True)
class StoredInvestigation:
    """The SEEN item: the last payload received for the investigation and its resolved state."""

    tenant_id: str
    investigation: InvestigationCompleted
    payload_sha: str
    versions: frozenset[str] = frozenset()
    resolved_at: datetime | None = None
    # When a re-investigation last replaced the payload (the message says "Updated HH:MM").
    revised_at: datetime | None = None

    @property
    def render_version(self) -> str:
        """Which rendering the messages should show: a change of payload or of resolve state changes it."""
        return f"{self.payload_sha}|{self.resolved_at.isoformat() if self.resolved_at else ''}"


@dataclass(frozen=True)
class InvestigationState:
    """Everything stored under one investigation, read with one Query."""

    stored: StoredInvestigation | None
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    feedback: list[Rating] = field(default_factory=list)
    acknowledgement: Acknowledgement | None = None
    # Thread replies about the investigation (revised, resolved), by sort key: ledger deliveries of their own.
    notes: dict[str, Delivery] = field(default_factory=dict)


@dataclass(frozen=True)
class InitialDelivery:
    """What the first sighting writes for one channel: a claim (`posting`) or a final status with a reason, and
    the delivery's part in a storm group (`extra`: role, parent, group key)."""

    channel: str
    status: DeliveryStatus
    reason: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def delivery_key(tenant_id: str, investigation_id: str, channel: str) -> Key:
    return keys.delivery_key(tenant_id, investigation_id, channel)


def payload_sha(inv: InvestigationCompleted) -> str:
    return hashlib.sha256(inv.model_dump_json().encode()).hexdigest()[:32]


def _payload_attributes(inv: InvestigationCompleted) -> dict[str, Any]:
    raw = inv.model_dump_json()
    if len(raw.encode()) > GZIP_ABOVE_BYTES:
        return {"payload_gz": gzip.compress(raw.encode())}
    return {"payload": raw}


def _decode_payload(values: Mapping[str, Any]) -> InvestigationCompleted | None:
    if values.get("payload"):
        raw = values["payload"]
    elif values.get("payload_gz") is not None:
        blob = values["payload_gz"]
        raw = gzip.decompress(blob if isinstance(blob, bytes) else base64.b64decode(blob)).decode()
    else:
        return None
    return InvestigationCompleted.model_validate(json.loads(raw))


def _stored_from_values(tenant_id: str, values: Mapping[str, Any]) -> StoredInvestigation | None:
    inv = _decode_payload(values)
    if inv is None:
        return None
    resolved = values.get("resolved_at")
    revised = values.get("reinvestigated_at")
    return StoredInvestigation(tenant_id=tenant_id, investigation=inv,
                               payload_sha=str(values.get("payload_sha") or payload_sha(inv)),
                               versions=frozenset(values.get("versions") or ()),
                               resolved_at=datetime.fromisoformat(resolved) if resolved else None,
                               revised_at=datetime.fromtimestamp(int(revised), UTC) if revised else None)


class GroupTaken(Exception):
    """The first sighting's transaction assumed it would start storm groups that someone else started meanwhile
    (nothing was written): join them (storage.groups.join) and try again."""


def record_first_sighting(tenant_id: str, inv: InvestigationCompleted, deliveries: Iterable[InitialDelivery], *,
                          attempt: Attempt, new_groups: Iterable[NewGroup] = ()) -> bool:
    """Mark the investigation seen, count the alert (unless it is a test) and claim or settle every channel, in ONE
    transaction, with the storm groups it starts (`new_groups`, each only where absent and where no storm of the
window before goes on). True when this call was
    first; False when the investigation was already seen (nothing written). Raises `GroupTaken` when only a group
    existed, `Contention` when concurrent writers kept holding the same items."""
    sha = payload_sha(inv)
    seen = {**keys.seen_key(tenant_id, inv.investigation_id), "tenant_id": tenant_id,
            "investigation_id": inv.investigation_id, "cluster": inv.cluster, "payload_sha": sha, "versions": {sha},
            "test": inv.test,
            "first_seen_at": int(time.time()), "completed_epoch": _completed_epoch(inv), **_payload_attributes(inv)}
    actions = [table().put_action(seen, condition="attribute_not_exists(pk)")]
    groups_at = len(actions)
    for group in new_groups:  # put only where absent, and only where no storm of the window before goes on
        expr = Expression()
        ended = expr.condition("attribute_not_exists(pk) OR {first} < {:since}", first="first_fired",
                               since=group.continues_from)
        actions += [table().put_action(group.item, condition="attribute_not_exists(pk)"),
                    table().check_action(group.previous, ended, expr)]
    groups_end = len(actions)
    if not inv.test:
        actions.append(counters.count_alert_action(tenant_id, inv))
    for delivery in list(deliveries)[:MAX_CHANNELS_PER_INVESTIGATION]:
        key = delivery_key(tenant_id, inv.investigation_id, delivery.channel)
        if delivery.status == DeliveryStatus.POSTING:
            actions.append(ledger.claim_action(key, delivery.channel, attempt, delivery.extra))
        else:
            actions.append(ledger.settled_action(key, delivery.channel, delivery.status, delivery.reason or "",
                                                 delivery.extra))
    try:
        table().transact(actions)
    except TransactionFailed as failed:
        if not failed.failed_at(0) and any(failed.failed_at(i) for i in range(groups_at, groups_end)):
            raise GroupTaken() from failed
        return False
    return True


def load_state(tenant_id: str, investigation_id: str) -> InvestigationState:
    """SEEN, every delivery, every rating and the acknowledgement of one investigation, in one (paged) Query."""
    stored: StoredInvestigation | None = None
    deliveries: dict[str, Delivery] = {}
    feedback: list[Rating] = []
    acknowledgement: Acknowledgement | None = None
    notes: dict[str, Delivery] = {}
    for values in table().query(keys.investigation_pk(tenant_id, investigation_id)):
        sk = values["sk"]
        if sk == keys.SEEN_SK:
            stored = _stored_from_values(tenant_id, values)
        elif sk.startswith(keys.DELIVERY_PREFIX):
            channel = sk.removeprefix(keys.DELIVERY_PREFIX)
            deliveries[channel] = Delivery.from_values(values, channel)
        elif sk.startswith(keys.FEEDBACK_PREFIX):
            feedback.append(Rating.from_values(values))
        elif sk == keys.ACK_SK:
            acknowledgement = Acknowledgement.from_values(values)
        elif sk.startswith(keys.NOTE_PREFIX):
            notes[sk] = Delivery.from_values(values, sk.removeprefix(keys.NOTE_PREFIX).split("#", 1)[0])
    return InvestigationState(stored, deliveries, feedback, acknowledgement, notes)


class Marks(NamedTuple):
    """What a click shows: every rating, the acknowledgement, and when the investigation was last revised (epoch
    seconds; ratings given before it are marked)."""

    feedback: list[Rating]
    acknowledgement: Acknowledgement | None
    revised_at: int | None


def load_marks(tenant_id: str, investigation_id: str) -> Marks:
    """In one Query of the investigation's partition, `ACK` to `SEEN` (the few ledger, note and outbox items in
    between included)."""
    feedback: list[Rating] = []
    acknowledgement: Acknowledgement | None = None
    revised: int | None = None
    for values in table().query(keys.investigation_pk(tenant_id, investigation_id),
                                sk_between=(keys.ACK_SK, keys.SEEN_SK)):
        if values["sk"] == keys.ACK_SK:
            acknowledgement = Acknowledgement.from_values(values)
        elif values["sk"].startswith(keys.FEEDBACK_PREFIX):
            feedback.append(Rating.from_values(values))
        elif values["sk"] == keys.SEEN_SK and values.get("reinvestigated_at") is not None:
            revised = int(values["reinvestigated_at"])
    return Marks(sorted(feedback, key=lambda r: (r.rated_at, r.user_id)), acknowledgement, revised)


def cluster_of(tenant_id: str, investigation_id: str) -> str | None:
    """The cluster of a posted investigation (what its outbound events name), or None when it was never posted."""
    values = table().get(keys.seen_key(tenant_id, investigation_id))
    if values is None:
        return None
    if isinstance(values.get("cluster"), str):
        return str(values["cluster"])
    stored = _stored_from_values(tenant_id, values)  # SEEN written before it carried `cluster`
    # A SEEN with neither (never written so by posting) still lets the click count; its event says so.
    return stored.investigation.cluster if stored is not None else UNKNOWN_CLUSTER


def revised_at(tenant_id: str, investigation_id: str) -> int | None:
    """When a re-investigation last replaced the investigation's payload (epoch seconds), or None."""
    values = table().get(keys.seen_key(tenant_id, investigation_id))
    revised = (values or {}).get("reinvestigated_at")
    return int(revised) if revised is not None else None


def _completed_epoch(inv: InvestigationCompleted) -> float | None:
    return inv.completed_at.timestamp() if inv.completed_at is not None else None


def store_reinvestigation(tenant_id: str, inv: InvestigationCompleted) -> bool:
    """A later `investigation.completed` for a seen investigation becomes the payload messages show, unless the
    stored one completed later (CONTRACT.md `completed_at`; without it, the latest to arrive wins). One conditional
    write, so two versions arriving at once settle on the one completed last. False when the stored one stays."""
    sha = payload_sha(inv)
    payload = _payload_attributes(inv)
    stale = "payload_gz" if "payload" in payload else "payload"
    completed = _completed_epoch(inv)
    expr = Expression()
    condition = "attribute_exists(pk)"
    if completed is not None:
        condition += expr.condition(" AND (attribute_not_exists({completed}) OR {completed} < {:new})",
                                    completed="completed_epoch", new=completed)
    try:
        table().update(keys.seen_key(tenant_id, inv.investigation_id),
                       set_={**payload, "payload_sha": sha, "reinvestigated_at": int(time.time()),
                             "completed_epoch": completed},
                       add={"versions": {sha}}, remove=(stale,), condition=condition, expr=expr)
    except ConditionFailed:
        return False
    return True


def store_resolved(tenant_id: str, investigation_id: str, resolved_at: datetime) -> bool:
    """Record the resolve time on SEEN. False when the investigation was never seen."""
    try:
        table().update(keys.seen_key(tenant_id, investigation_id), set_={"resolved_at": resolved_at.isoformat()},
                       condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True
