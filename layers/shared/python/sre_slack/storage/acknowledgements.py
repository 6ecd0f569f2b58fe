"""The acknowledgement of an investigation: who acknowledged it first, and when.

`TENANT#<t>#INV#<i>` / `ACK`, written once: one transaction checks that the investigation was posted (`SEEN`),
puts `ACK` with `attribute_not_exists` and puts the `investigation.acknowledged` event in the outbox. A later
click, a double click or a Slack retry finds `ACK` taken and writes nothing, so there is one acknowledgement and
one event, whoever clicks. The investigation's Query (storage.investigations.load_state) reads it with the rest,
so a re-rendered message keeps the "Acknowledged by" line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from sre_slack.contracts.engine_events import EngineEvent
from sre_slack.storage import keys, outbox
from sre_slack.storage.errors import UnknownInvestigation
from sre_slack.storage.table import TransactionFailed, table


@dataclass(frozen=True)
class Acknowledgement:
    tenant_id: str
    investigation_id: str
    user_id: str
    acknowledged_at: int  # epoch seconds
    user_name: str | None = None
    team_id: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Acknowledgement:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_values(self) -> dict[str, Any]:
        return {**keys.ack_key(self.tenant_id, self.investigation_id), **asdict(self)}


@dataclass(frozen=True)
class AcknowledgeOutcome:
    acknowledgement: Acknowledgement  # the one stored: this click's, or the first one's
    first: bool  # this call wrote it


def acknowledge(wanted: Acknowledgement, *, event: Callable[[Acknowledgement], EngineEvent] | None = None
                ) -> AcknowledgeOutcome:
    """Record `wanted` unless the investigation is acknowledged already. Raises UnknownInvestigation."""
    slack_table = table()
    actions = [slack_table.check_action(keys.seen_key(wanted.tenant_id, wanted.investigation_id),
                                        "attribute_exists(pk)"),
               slack_table.put_action(wanted.to_values(), condition="attribute_not_exists(pk)")]
    if event is not None:
        actions.append(outbox.put_action(event(wanted)))
    try:
        slack_table.transact(actions)
    except TransactionFailed as exc:
        if exc.failed_at(0):
            raise UnknownInvestigation(wanted.investigation_id) from exc
        stored = get_acknowledgement(wanted.tenant_id, wanted.investigation_id)
        if stored is None:  # only a failed ACK condition cancels it otherwise; ACK is never deleted alone
            raise
        return AcknowledgeOutcome(stored, first=False)
    return AcknowledgeOutcome(wanted, first=True)


def get_acknowledgement(tenant_id: str, investigation_id: str) -> Acknowledgement | None:
    values = table().get(keys.ack_key(tenant_id, investigation_id))
    return Acknowledgement.from_values(values) if values else None
