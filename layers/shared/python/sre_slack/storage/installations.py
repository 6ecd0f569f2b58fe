"""Tenant installations: one record per tenant, bot token encrypted with KMS.

Keyed by tenant, not by Slack team: two tenants of ours may install the same Slack workspace and must not
touch each other's record. The `ByTeam` index answers "which tenants installed team T" for events and
interactions; the sparse `ActiveInstallations` index lists active tenants for the digest fan-out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from sre_slack.aws import dynamodb
from sre_slack.contracts.settings import get_settings
from sre_slack.slack import token_cipher as crypto
from sre_slack.storage import keys
from sre_slack.storage.items import from_item, to_attr, to_item


class InstallationStatus(StrEnum):
    ACTIVE = "active"
    # Slack told us the token is gone (token_revoked, app_uninstalled, tokens_revoked).
    REVOKED = "revoked"
    # Slack refuses the token for another permanent reason (invalid_auth, account_inactive, ...).
    INACTIVE = "inactive"


@dataclass(frozen=True)
class Installation:
    tenant_id: str
    team_id: str
    team_name: str
    bot_user_id: str
    scopes: tuple[str, ...]
    installed_at: int
    enterprise_id: str | None = None
    app_id: str | None = None
    bot_id: str | None = None
    installer_user_id: str | None = None
    status: InstallationStatus = InstallationStatus.ACTIVE
    status_reason: str | None = None
    status_changed_at: int | None = None
    token_ciphertext: str | None = field(default=None, repr=False)
    refresh_token_ciphertext: str | None = field(default=None, repr=False)
    token_expires_at: int | None = None
    # Bumped by every token write, so concurrent rotations can detect each other.
    token_version: int = 0

    @property
    def is_active(self) -> bool:
        return self.status == InstallationStatus.ACTIVE and self.token_ciphertext is not None

    @property
    def rotates_tokens(self) -> bool:
        return self.token_expires_at is not None and self.refresh_token_ciphertext is not None

    def to_item(self) -> dict[str, Any]:
        values = asdict(self)
        values["scopes"] = list(self.scopes)
        values["status"] = str(self.status)
        values.update(keys.installation_key(self.tenant_id))
        if self.status == InstallationStatus.ACTIVE:
            values["active"] = keys.ACTIVE_MARKER
        return to_item(values)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Installation:
        values = from_item(item)
        known = {f for f in cls.__dataclass_fields__}
        data = {k: v for k, v in values.items() if k in known}
        data["scopes"] = tuple(data.get("scopes") or ())
        data["status"] = InstallationStatus(data.get("status", "active"))
        return cls(**data)


def _table() -> str:
    return get_settings().table_name


def save_installation(installation: Installation, *, bot_token: str, refresh_token: str | None) -> Installation:
    """Store (or replace, on reinstall) the tenant's installation with freshly encrypted tokens."""
    tenant = installation.tenant_id
    stored = replace(
        installation,
        status=InstallationStatus.ACTIVE,
        status_reason=None,
        status_changed_at=None,
        token_ciphertext=crypto.encrypt_token(tenant, bot_token),
        refresh_token_ciphertext=crypto.encrypt_token(tenant, refresh_token) if refresh_token else None,
        token_version=installation.token_version + 1,
    )
    dynamodb().put_item(TableName=_table(), Item=stored.to_item())
    return stored


def get_installation(tenant_id: str) -> Installation | None:
    response = dynamodb().get_item(TableName=_table(), Key=to_item(keys.installation_key(tenant_id)),
                                   ConsistentRead=True)
    item = response.get("Item")
    return Installation.from_item(item) if item else None


def mark_installation(tenant_id: str, status: InstallationStatus, reason: str, *, drop_tokens: bool) -> bool:
    """Record that Slack no longer accepts the tenant's token. Idempotent; False when there is no record."""
    remove = ["active"]
    if drop_tokens:
        remove += ["token_ciphertext", "refresh_token_ciphertext", "token_expires_at"]
    try:
        dynamodb().update_item(
            TableName=_table(),
            Key=to_item(keys.installation_key(tenant_id)),
            UpdateExpression="SET #s = :s, status_reason = :r, status_changed_at = :t REMOVE " + ", ".join(remove),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": to_attr(str(status)), ":r": to_attr(reason),
                                       ":t": to_attr(int(time.time()))},
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def mark_refused_by_slack(tenant_id: str, error: str) -> InstallationStatus:
    """Slack refused the tenant's token for good (an installation-class error such as `invalid_auth` or
    `token_revoked`). A token Slack says is gone is dropped (revoked); one it merely refuses is kept (inactive)
    so support can look at it. The one place that makes this choice; returns the status recorded."""
    from sre_slack.slack.errors import TOKEN_GONE_ERRORS

    gone = error in TOKEN_GONE_ERRORS
    status = InstallationStatus.REVOKED if gone else InstallationStatus.INACTIVE
    mark_installation(tenant_id, status, error, drop_tokens=gone)
    return status


def update_tokens(installation: Installation, *, bot_token: str, refresh_token: str | None,
                  expires_at: int | None) -> Installation | None:
    """Write rotated tokens unless someone else rotated first (compare-and-set on token_version).

    Returns the stored installation, or None when another writer won the race.
    """
    tenant = installation.tenant_id
    updated = replace(
        installation,
        token_ciphertext=crypto.encrypt_token(tenant, bot_token),
        refresh_token_ciphertext=crypto.encrypt_token(tenant, refresh_token) if refresh_token else None,
        token_expires_at=expires_at,
        token_version=installation.token_version + 1,
    )
    try:
        dynamodb().update_item(
            TableName=_table(),
            Key=to_item(keys.installation_key(tenant)),
            UpdateExpression="SET token_ciphertext = :t, refresh_token_ciphertext = :r, token_expires_at = :e, "
                             "token_version = :new",
            ConditionExpression="token_version = :old",
            ExpressionAttributeValues={
                ":t": to_attr(updated.token_ciphertext),
                ":r": to_attr(updated.refresh_token_ciphertext) if refresh_token else {"NULL": True},
                ":e": to_attr(expires_at) if expires_at is not None else {"NULL": True},
                ":new": to_attr(updated.token_version),
                ":old": to_attr(installation.token_version),
            },
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return None
    return updated


def delete_tenant_slack_data(tenant_id: str) -> int:
    """Delete the tenant's installation, routing and channel health (everything under CONFIG#)."""
    client = dynamodb()
    deleted = 0
    paginator = client.get_paginator("query")
    for page in paginator.paginate(
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": to_attr(keys.tenant_pk(tenant_id)), ":prefix": to_attr(keys.CONFIG_PREFIX)},
        ProjectionExpression="pk, sk",
    ):
        for item in page.get("Items", []):
            client.delete_item(TableName=_table(), Key={"pk": item["pk"], "sk": item["sk"]})
            deleted += 1
    return deleted


def tenants_for_team(team_id: str) -> list[str]:
    """Tenants whose installation is for this Slack team (active or not)."""
    tenants: list[str] = []
    paginator = dynamodb().get_paginator("query")
    for page in paginator.paginate(
        TableName=_table(),
        IndexName=keys.BY_TEAM_INDEX,
        KeyConditionExpression="team_id = :t",
        ExpressionAttributeValues={":t": to_attr(team_id)},
    ):
        tenants.extend(keys.tenant_from_pk(item["pk"]["S"]) for item in page.get("Items", []))
    return tenants


def active_tenants(page_size: int = 500) -> Iterator[str]:
    """Every tenant with an active installation, from the sparse index (no table scan)."""
    paginator = dynamodb().get_paginator("query")
    for page in paginator.paginate(
        TableName=_table(),
        IndexName=keys.ACTIVE_INDEX,
        KeyConditionExpression="active = :a",
        ExpressionAttributeValues={":a": to_attr(keys.ACTIVE_MARKER)},
        PaginationConfig={"PageSize": page_size},
    ):
        for item in page.get("Items", []):
            yield keys.tenant_from_pk(item["pk"]["S"])
