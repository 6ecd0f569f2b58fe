"""What posting remembers in DynamoDB, and the conditional writes that make delivery exactly once.

Items (keys in `sre_slack.storage.keys`), all under the partition `TENANT#{tenant}#INV#{investigation}`:

- `SEEN`: written once, when an `investigation.completed` is first seen. Holds the last investigation payload
  (JSON, gzip when large) so a resolve or a re-investigation can re-render the message without the original
  queue message, plus `resolved_at` once the alert is resolved.
- `DELIVERY#{channel}`: one per routed channel, the state machine of that channel's message:

      posting --(post ok)--> posted --(chat.update refused)--> gone
         |  \\--(429 / transient, certainly not posted)--> retry --(claimed again)--> posting
         |   \\--(channel / payload / installation error)--> failed | undeliverable
         \\--(lease expired, or an ambiguous Slack answer)--> unknown --(operator redrive)--> posting

  `posting` is a lease: `lease_until` is the latest moment the invocation holding it can still be running
  (its deadline plus a margin). A live lease means "someone is posting right now": the other delivery backs
  off. An expired one means that invocation died between claiming and recording the result, and Slack may
  or may not have the message: that delivery becomes `unknown`, a copy of the SQS message goes to the
  dead-letter queue, and nothing posts it again unless an operator redrives that copy (`claim_unknown`, once;
  see docs/posting.md).
- The first sighting also adds the alert to the tenant's digest counters, in the same transaction as SEEN,
  so a retry can never count twice.

A feedback click needs none of this: it rewrites only the rating line of the message Slack sends with the click.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sre_slack.aws import dynamodb
from sre_slack.contracts.investigation import InvestigationCompleted
from sre_slack.contracts.settings import get_settings
from sre_slack.storage import keys
from sre_slack.storage.items import from_item, to_attr, to_item

if TYPE_CHECKING:
    from sre_slack.storage.ratings import Rating

# Payloads above this are stored gzip-compressed (a DynamoDB item holds at most 400 KB).
GZIP_ABOVE_BYTES = 32_000
# DynamoDB transactions hold at most 100 actions: SEEN + counters + one per channel.
MAX_CHANNELS_PER_INVESTIGATION = 98
# The attribute-name part of a counter (sev#<s>, ns#<n>, ...) is capped; names come from outside.
COUNTER_NAME_MAX = 200
# In-process attempts at the first-sighting transaction when concurrent writers conflict.
CONFLICT_ATTEMPTS = 4
# Stands for "no channel" in a delivery record (nothing routed, or the tenant cannot be posted to at all).
NO_CHANNEL = "-"


class DeliveryStatus(StrEnum):
    POSTING = "posting"
    POSTED = "posted"
    RETRY = "retry"
    FAILED = "failed"
    UNKNOWN = "unknown"
    UNDELIVERABLE = "undeliverable"
    SKIPPED = "skipped"
    GONE = "gone"


FINAL_STATUSES = frozenset({DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN, DeliveryStatus.UNDELIVERABLE,
                            DeliveryStatus.SKIPPED})


class Contention(Exception):
    """Another invocation is writing the same investigation right now (TransactionConflict): retry later."""


@dataclass(frozen=True)
class DeliveryRecord:
    """One channel's message of one investigation."""

    channel: str
    status: DeliveryStatus
    ts: str | None = None
    reason: str | None = None
    attempt_id: str | None = None
    lease_until: float | None = None
    # Which rendering (payload + resolved state) the message in Slack shows; see `render_version`.
    rendered: str | None = None
    updated_at: int = 0

    def lease_alive(self, now: float | None = None) -> bool:
        return self.status == DeliveryStatus.POSTING and (self.lease_until or 0) > (now or time.time())


@dataclass(frozen=True)
class StoredInvestigation:
    """The SEEN item: the last payload received for the investigation and its resolved state."""

    tenant_id: str
    investigation: InvestigationCompleted
    payload_sha: str
    versions: frozenset[str] = frozenset()
    resolved_at: datetime | None = None

    @property
    def render_version(self) -> str:
        return render_version(self.payload_sha, self.resolved_at)


@dataclass(frozen=True)
class InvestigationState:
    """Everything stored under one investigation, read with one Query."""

    stored: StoredInvestigation | None
    deliveries: dict[str, DeliveryRecord] = field(default_factory=dict)
    feedback: list[Rating] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ helpers


def _table() -> str:
    return get_settings().table_name


def _now() -> int:
    return int(time.time())


def payload_sha(inv: InvestigationCompleted) -> str:
    return hashlib.sha256(_payload_json(inv).encode()).hexdigest()[:32]


def render_version(sha: str, resolved_at: datetime | None) -> str:
    return f"{sha}|{resolved_at.isoformat() if resolved_at else ''}"


def _payload_json(inv: InvestigationCompleted) -> str:
    return inv.model_dump_json()


def _payload_attributes(inv: InvestigationCompleted) -> dict[str, Any]:
    raw = _payload_json(inv)
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


def _counter_name(prefix: str, name: str) -> str:
    return f"{prefix}#{name[:COUNTER_NAME_MAX]}"


def counter_names(inv: InvestigationCompleted) -> list[str]:
    """The digest counters one alert increments (CONTRACT.md: severity, namespace, alert name, cluster)."""
    names = ["total", _counter_name("sev", inv.alert.severity), _counter_name("alert", inv.alert.name),
             _counter_name("cluster", inv.cluster)]
    if inv.alert.namespace and inv.alert.namespace.strip():
        names.append(_counter_name("ns", inv.alert.namespace))
    return list(dict.fromkeys(names))


def _delivery_from_item(values: Mapping[str, Any]) -> DeliveryRecord:
    return DeliveryRecord(
        channel=str(values["sk"]).removeprefix(keys.DELIVERY_PREFIX),
        status=DeliveryStatus(values.get("status", DeliveryStatus.UNKNOWN)),
        ts=values.get("ts"),
        reason=values.get("reason"),
        attempt_id=values.get("attempt_id"),
        lease_until=values.get("lease_until"),
        rendered=values.get("rendered"),
        updated_at=int(values.get("updated_at", 0)),
    )


def _stored_from_item(tenant_id: str, values: Mapping[str, Any]) -> StoredInvestigation | None:
    inv = _decode_payload(values)
    if inv is None:
        return None
    resolved = values.get("resolved_at")
    return StoredInvestigation(
        tenant_id=tenant_id,
        investigation=inv,
        payload_sha=str(values.get("payload_sha") or payload_sha(inv)),
        versions=frozenset(values.get("versions") or ()),
        resolved_at=datetime.fromisoformat(resolved) if resolved else None,
    )


def new_attempt_id() -> str:
    return uuid.uuid4().hex


# ------------------------------------------------------------------------------------------------ first sight


@dataclass(frozen=True)
class InitialDelivery:
    """What the first sighting writes for one channel: a claim (`posting`) or a final status with a reason."""

    channel: str
    status: DeliveryStatus
    reason: str | None = None


def record_first_sighting(
    tenant_id: str,
    inv: InvestigationCompleted,
    deliveries: Iterable[InitialDelivery],
    *,
    attempt_id: str,
    lease_until: float,
) -> bool:
    """Mark the investigation seen, count the alert (unless it is a test) and claim or settle every channel,
    in ONE transaction. True when this call was first; False when the investigation was already seen (nothing
    written). Raises `Contention` when a concurrent writer holds the same items.
    """
    client = dynamodb()
    table = _table()
    now = _now()
    sha = payload_sha(inv)
    seen = {
        **keys.seen_key(tenant_id, inv.investigation_id),
        "tenant_id": tenant_id,
        "investigation_id": inv.investigation_id,
        "payload_sha": sha,
        "versions": {sha},
        "test": inv.test,
        "first_seen_at": now,
        **_payload_attributes(inv),
    }
    actions: list[dict[str, Any]] = [{"Put": {"TableName": table, "Item": to_item(seen),
                                              "ConditionExpression": "attribute_not_exists(pk)"}}]
    if not inv.test:
        names = counter_names(inv)
        placeholders = {f"#c{i}": name for i, name in enumerate(names)}
        actions.append({"Update": {
            "TableName": table,
            "Key": to_item(keys.counts_key(tenant_id, inv.alert.fired_at.date())),
            "UpdateExpression": "ADD " + ", ".join(f"{p} :one" for p in placeholders),
            "ExpressionAttributeNames": placeholders,
            "ExpressionAttributeValues": {":one": to_attr(1)},
        }})
    for delivery in list(deliveries)[:MAX_CHANNELS_PER_INVESTIGATION]:
        values: dict[str, Any] = {
            **keys.delivery_key(tenant_id, inv.investigation_id, delivery.channel),
            "channel": delivery.channel,
            "status": str(delivery.status),
            "reason": delivery.reason,
            "updated_at": now,
        }
        if delivery.status == DeliveryStatus.POSTING:
            values |= {"attempt_id": attempt_id, "lease_until": lease_until}
        actions.append({"Put": {"TableName": table, "Item": to_item(values),
                                "ConditionExpression": "attribute_not_exists(pk)"}})
    # Alerts of one tenant and day share the counters item, so a burst of first sightings conflicts
    # (TransactionConflict: nothing was written). A short jittered retry settles it without an SQS round trip.
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=actions)
        except client.exceptions.TransactionCanceledException as exc:
            codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in codes:
                return False
            if attempt + 1 == CONFLICT_ATTEMPTS:
                raise Contention(f"transaction cancelled: {codes}") from exc
        except client.exceptions.TransactionConflictException as exc:
            if attempt + 1 == CONFLICT_ATTEMPTS:
                raise Contention("transaction conflict") from exc
        else:
            return True
        time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))  # noqa: S311 - jitter, not security
    raise Contention("transaction conflict")


# ------------------------------------------------------------------------------------------------ reads


def load_state(tenant_id: str, investigation_id: str) -> InvestigationState:
    """SEEN, every delivery and every feedback item of one investigation, in one (paged) Query."""
    from sre_slack.storage.ratings import Rating

    request: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": to_attr(keys.investigation_pk(tenant_id, investigation_id))},
        "ConsistentRead": True,
    }
    stored: StoredInvestigation | None = None
    deliveries: dict[str, DeliveryRecord] = {}
    feedback: list[Rating] = []
    while True:
        response = dynamodb().query(**request)
        for item in response.get("Items", []):
            values = from_item(item)
            sk = values["sk"]
            if sk == keys.SEEN_SK:
                stored = _stored_from_item(tenant_id, values)
            elif sk.startswith(keys.DELIVERY_PREFIX):
                record = _delivery_from_item(values)
                deliveries[record.channel] = record
            elif sk.startswith(keys.FEEDBACK_PREFIX):
                feedback.append(Rating.from_values(values))
        if "LastEvaluatedKey" not in response:
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return InvestigationState(stored, deliveries, feedback)


# ------------------------------------------------------------------------------------------------ writes


def _update(tenant_id: str, investigation_id: str, channel: str, *, set_values: Mapping[str, Any],
            condition: str | None = None, condition_values: Mapping[str, Any] | None = None,
            remove: Iterable[str] = ()) -> bool:
    values = {**set_values, "updated_at": _now()}
    names = {f"#a{i}": name for i, name in enumerate(values)}
    by_name = {name: placeholder for placeholder, name in names.items()}
    expression = "SET " + ", ".join(f"{by_name[name]} = :v{i}" for i, name in enumerate(values))
    removed = list(remove)
    if removed:
        names |= {f"#r{i}": name for i, name in enumerate(removed)}
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
    attribute_values = {f":v{i}": to_attr(value) if value is not None else {"NULL": True}
                        for i, value in enumerate(values.values())}
    request: dict[str, Any] = {
        "TableName": _table(),
        "Key": to_item(keys.delivery_key(tenant_id, investigation_id, channel)),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
    }
    if condition:
        names["#st"] = "status"
        attribute_values |= {k: to_attr(v) for k, v in (condition_values or {}).items()}
        request["ConditionExpression"] = condition
    request["ExpressionAttributeValues"] = attribute_values
    client = dynamodb()
    try:
        client.update_item(**request)
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def claim_retry(tenant_id: str, investigation_id: str, channel: str, *, attempt_id: str,
                lease_until: float) -> bool:
    """Take a delivery in `retry` back to `posting` for this attempt. False when someone else took it first."""
    return _update(tenant_id, investigation_id, channel,
                   set_values={"status": str(DeliveryStatus.POSTING), "attempt_id": attempt_id,
                               "lease_until": lease_until},
                   condition="#st = :retry", condition_values={":retry": str(DeliveryStatus.RETRY)})


def mark_posted(tenant_id: str, investigation_id: str, channel: str, *, ts: str, rendered: str) -> None:
    """The message is in Slack. Unconditional: whatever anyone concluded meanwhile, this is the truth."""
    _update(tenant_id, investigation_id, channel,
            set_values={"status": str(DeliveryStatus.POSTED), "ts": ts, "rendered": rendered, "reason": None},
            remove=("lease_until",))


def mark_rendered(tenant_id: str, investigation_id: str, channel: str, *, rendered: str) -> None:
    """chat.update succeeded: the message now shows this rendering."""
    _update(tenant_id, investigation_id, channel, set_values={"rendered": rendered},
            condition="#st = :posted", condition_values={":posted": str(DeliveryStatus.POSTED)})


def release_for_retry(tenant_id: str, investigation_id: str, channel: str, *, attempt_id: str, reason: str) -> bool:
    """Slack certainly did not take the message (429, 503, no connection): a later attempt may post."""
    return _update(tenant_id, investigation_id, channel,
                   set_values={"status": str(DeliveryStatus.RETRY), "reason": reason},
                   condition="#st = :posting AND attempt_id = :mine",
                   condition_values={":posting": str(DeliveryStatus.POSTING), ":mine": attempt_id},
                   remove=("lease_until",))


def settle(tenant_id: str, investigation_id: str, channel: str, status: DeliveryStatus, reason: str) -> None:
    """A final outcome for a channel (failed, undeliverable, gone): never attempted again."""
    _update(tenant_id, investigation_id, channel, set_values={"status": str(status), "reason": reason},
            remove=("lease_until",))


def settle_unknown(tenant_id: str, investigation_id: str, channel: str, *, reason: str, source_message_id: str,
                   expired_lease_only: bool = False) -> bool:
    """`posting` -> `unknown`: Slack may or may not have the message. `source_message_id` is the SQS message
    whose dead-letter copy an operator may redrive (`claim_unknown`). With `expired_lease_only`, only a claim
    whose lease ran out (its invocation died) is settled. False when the condition did not hold."""
    condition, values = "#st = :posting", {":posting": str(DeliveryStatus.POSTING)}
    if expired_lease_only:
        condition, values = condition + " AND lease_until < :now", values | {":now": time.time()}
    return _update(tenant_id, investigation_id, channel,
                   set_values={"status": str(DeliveryStatus.UNKNOWN), "reason": reason,
                               "unknown_source": source_message_id},
                   condition=condition, condition_values=values, remove=("lease_until",))


def claim_unknown(tenant_id: str, investigation_id: str, channel: str, *, source_message_id: str, attempt_id: str,
                  lease_until: float) -> bool:
    """An operator redrove the dead-letter copy of `source_message_id`: take its `unknown` delivery back to
    `posting`, once (the claim consumes `unknown_source`). False when the delivery is no longer that unknown."""
    return _update(tenant_id, investigation_id, channel,
                   set_values={"status": str(DeliveryStatus.POSTING), "attempt_id": attempt_id,
                               "lease_until": lease_until, "redriven_from": source_message_id},
                   condition="#st = :unknown AND unknown_source = :source",
                   condition_values={":unknown": str(DeliveryStatus.UNKNOWN), ":source": source_message_id},
                   remove=("unknown_source",))


def store_reinvestigation(tenant_id: str, inv: InvestigationCompleted) -> None:
    """A later `investigation.completed` for a seen investigation: it becomes the payload messages show."""
    sha = payload_sha(inv)
    payload = _payload_attributes(inv)
    remove = "payload_gz" if "payload" in payload else "payload"
    (name, value), = payload.items()
    dynamodb().update_item(
        TableName=_table(),
        Key=to_item(keys.seen_key(tenant_id, inv.investigation_id)),
        UpdateExpression=f"SET #p = :p, payload_sha = :sha, reinvestigated_at = :now ADD versions :v REMOVE {remove}",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeNames={"#p": name},
        ExpressionAttributeValues={":p": to_attr(value), ":sha": to_attr(sha), ":v": to_attr({sha}),
                                   ":now": to_attr(_now())},
    )


def store_resolved(tenant_id: str, investigation_id: str, resolved_at: datetime) -> bool:
    """Record the resolve time on SEEN. False when the investigation was never seen."""
    client = dynamodb()
    try:
        client.update_item(
            TableName=_table(),
            Key=to_item(keys.seen_key(tenant_id, investigation_id)),
            UpdateExpression="SET resolved_at = :r",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":r": to_attr(resolved_at.isoformat())},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True
