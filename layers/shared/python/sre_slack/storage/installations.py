"""Tenant installations: one record per tenant, holding the bot token as KMS ciphertext (sre_slack.slack.tokens
encrypts and decrypts; this module only stores what it is given).

Keyed by tenant, not by Slack team: two tenants of ours may install the same Slack workspace and must not touch
each other's record. The `ByTeam` index answers "which tenants installed team T" for events and interactions; the
sparse `ActiveInstallations` index lists active tenants for the digest fan-out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from sre_slack.domain.delivery_policy import TOKEN_GONE_ERRORS
from sre_slack.storage import keys
from sre_slack.storage.table import ConditionFailed, Expression, table


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

    def to_values(self) -> dict[str, Any]:
        values = asdict(self)
        values["scopes"] = list(self.scopes)
        values["status"] = str(self.status)
        values.update(keys.installation_key(self.tenant_id))
        if self.status == InstallationStatus.ACTIVE:
            values["active"] = keys.ACTIVE_MARKER
        return values

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Installation:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in values.items() if k in known}
        data["scopes"] = tuple(data.get("scopes") or ())
        data["status"] = InstallationStatus(data.get("status", "active"))
        return cls(**data)


def save_installation(installation: Installation) -> Installation:
    """Store (or replace, on reinstall) the tenant's installation as active, with its new token ciphertexts."""
    stored = Installation(**{**asdict(installation), "scopes": installation.scopes,
                             "status": InstallationStatus.ACTIVE, "status_reason": None, "status_changed_at": None,
                             "token_version": installation.token_version + 1})
    table().put(stored.to_values())
    return stored


def get_installation(tenant_id: str) -> Installation | None:
    values = table().get(keys.installation_key(tenant_id))
    return Installation.from_values(values) if values else None


def mark_installation(tenant_id: str, status: InstallationStatus, reason: str, *, drop_tokens: bool) -> bool:
    """Record that Slack no longer accepts the tenant's token. Idempotent; False when there is no record."""
    remove = ["active"]
    if drop_tokens:
        remove += ["token_ciphertext", "refresh_token_ciphertext", "token_expires_at"]
    try:
        table().update(keys.installation_key(tenant_id),
                       set_={"status": str(status), "status_reason": reason, "status_changed_at": int(time.time())},
                       remove=remove, condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True


def mark_refused_by_slack(tenant_id: str, error: str) -> InstallationStatus:
    """Slack refused the tenant's token for good (an installation-class error such as `invalid_auth` or
    `token_revoked`). A token Slack says is gone is dropped (revoked); one it merely refuses is kept (inactive)
    so support can look at it. The one place that makes this choice; returns the status recorded."""
    gone = error in TOKEN_GONE_ERRORS
    status = InstallationStatus.REVOKED if gone else InstallationStatus.INACTIVE
    mark_installation(tenant_id, status, error, drop_tokens=gone)
    return status


def update_tokens(installation: Installation, *, token_ciphertext: str, refresh_token_ciphertext: str | None,
                  expires_at: int | None) -> Installation | None:
    """Write rotated tokens unless someone else rotated first (compare-and-set on token_version).

    Returns the stored installation, or None when another writer won the race.
    """
    updated = Installation(**{**asdict(installation), "scopes": installation.scopes,
                              "token_ciphertext": token_ciphertext,
                              "refresh_token_ciphertext": refresh_token_ciphertext,
                              "token_expires_at": expires_at, "token_version": installation.token_version + 1})
    expr = Expression()
    condition = expr.condition("{version} = {:old}", version="token_version", old=installation.token_version)
    try:
        table().update(keys.installation_key(installation.tenant_id),
                       set_={"token_ciphertext": token_ciphertext, "refresh_token_ciphertext": refresh_token_ciphertext,
                             "token_expires_at": expires_at, "token_version": updated.token_version},
                       condition=condition, expr=expr)
    except ConditionFailed:
        return None
    return updated


def delete_tenant_slack_data(tenant_id: str) -> int:
    """Delete the tenant's installation, routing and channel health (everything under CONFIG#)."""
    slack_table = table()
    deleted = 0
    for item in list(slack_table.query(keys.tenant_pk(tenant_id), sk_prefix=keys.CONFIG_PREFIX, keys_only=True)):
        slack_table.delete({"pk": item["pk"], "sk": item["sk"]})
        deleted += 1
    return deleted


def tenants_for_team(team_id: str) -> list[str]:
    """Tenants whose installation is for this Slack team (active or not)."""
    return [keys.tenant_from_pk(item["pk"])
            for item in table().query(team_id, index=keys.BY_TEAM_INDEX, partition_key="team_id")]


def active_tenants(page_size: int = 500) -> Iterator[str]:
    """Every tenant with an active installation, from the sparse index (no table scan)."""
    for item in table().query(keys.ACTIVE_MARKER, index=keys.ACTIVE_INDEX, partition_key="active",
                              page_size=page_size):
        yield keys.tenant_from_pk(item["pk"])
