"""Routing document and channel delivery health, stored next to the installation.

All of a tenant's configuration shares the partition `TENANT#<id>` and the sort-key prefix `CONFIG#`, so
posting reads installation, routing and channel health with a single Query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sre_slack.contracts.routing import RoutingDocument
from sre_slack.storage import keys
from sre_slack.storage.installations import Installation
from sre_slack.storage.table import table

CHANNEL_OK = "ok"
CHANNEL_FAILING = "failing"


@dataclass(frozen=True)
class ChannelHealth:
    channel_id: str
    status: str  # "ok" | "failing"
    reason: str | None = None
    updated_at: int = 0
    # Permanent failures (archived, deleted, bot removed) stop posting there until the routing changes.
    permanent: bool = False


@dataclass(frozen=True)
class TenantConfig:
    tenant_id: str
    installation: Installation | None = None
    routing_raw: dict[str, Any] | None = None
    routing_updated_at: int | None = None
    channel_health: dict[str, ChannelHealth] = field(default_factory=dict)

    @property
    def routing(self) -> RoutingDocument | None:
        if self.routing_raw is None:
            return None
        return RoutingDocument.model_validate(self.routing_raw)


def load_tenant_config(tenant_id: str) -> TenantConfig:
    """Installation + routing + channel health of a tenant in one DynamoDB request."""
    installation: Installation | None = None
    routing_raw: dict[str, Any] | None = None
    routing_updated_at: int | None = None
    health: dict[str, ChannelHealth] = {}
    # Only hundreds of channel-health items would spill over a 1 MB page; the query follows it anyway.
    for values in table().query(keys.tenant_pk(tenant_id), sk_prefix=keys.CONFIG_PREFIX):
        sk = values["sk"]
        if sk == keys.INSTALLATION_SK:
            installation = Installation.from_values(values)
        elif sk == keys.ROUTING_SK:
            routing_raw = values.get("doc")
            routing_updated_at = values.get("updated_at")
        elif sk.startswith(keys.CHANNEL_HEALTH_PREFIX):
            channel = sk.removeprefix(keys.CHANNEL_HEALTH_PREFIX)
            health[channel] = ChannelHealth(channel, values.get("status", CHANNEL_OK), values.get("reason"),
                                            int(values.get("updated_at", 0)), bool(values.get("permanent")))
    return TenantConfig(tenant_id, installation, routing_raw, routing_updated_at, health)


def put_routing(tenant_id: str, document: dict[str, Any]) -> int:
    """Replace the routing document in one write (a PUT never leaves half a document behind)."""
    now = int(time.time())
    table().put({**keys.routing_key(tenant_id), "doc": document, "updated_at": now})
    return now


def record_channel_health(tenant_id: str, channel_id: str, *, status: str, reason: str | None,
                          permanent: bool) -> None:
    table().put({**keys.channel_health_key(tenant_id, channel_id), "status": status, "reason": reason,
                 "permanent": permanent, "updated_at": int(time.time())})


def record_channel_failing(tenant_id: str, channel_id: str, reason: str) -> None:
    """The channel refuses posts for good (archived, deleted, bot removed): posting skips it until the routing
    is saved again or Test Integration finds it working."""
    record_channel_health(tenant_id, channel_id, status=CHANNEL_FAILING, reason=reason, permanent=True)


def clear_channel_health(tenant_id: str, channel_id: str) -> None:
    table().delete(keys.channel_health_key(tenant_id, channel_id))
