"""The tenant's Slack connection as the portal sees it: its status and delivery health, and disconnecting.

Disconnect (`DELETE /slack/installation`) revokes the bot token at Slack, then deletes the tenant's Slack data:
- idempotent: without an installation it still succeeds (and deletes any leftover configuration);
- a token Slack already refuses cannot be revoked again: delete anyway;
- Slack unreachable or failing: the admin's intent is to disconnect, so our data is deleted anyway;
- another tenant of ours with an active installation of the same team may hold the same bot token (Slack keeps
  one bot token per app and workspace): revoking would disconnect it too, so the token is then left alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sre_slack.observability import get_logger
from sre_slack.slack import directory, oauth
from sre_slack.slack.tokens import TokenUnavailable, bot_token
from sre_slack.storage.installations import Installation, delete_tenant_slack_data, get_installation, tenants_for_team
from sre_slack.storage.tenant_config import CHANNEL_OK, TenantConfig, load_tenant_config


def _iso(epoch: int | float | None) -> str | None:
    if not epoch:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _health(config: TenantConfig, installed: bool) -> dict[str, Any]:
    channels = [{"channel": h.channel_id, "status": h.status, "reason": h.reason, "permanent": h.permanent,
                 "updated_at": _iso(h.updated_at)}
                for h in sorted(config.channel_health.values(), key=lambda h: h.channel_id)]
    if not installed:
        status = "disconnected"
    elif any(c["status"] != CHANNEL_OK for c in channels):
        status = "degraded"
    else:
        status = "ok"
    return {"status": status, "channels": channels}


def installation_status(tenant_id: str) -> dict[str, Any]:
    """`GET /slack/installation`: installation, routing and delivery health, read with posting's one Query."""
    return installation_view(load_tenant_config(tenant_id))


def installation_view(config: TenantConfig) -> dict[str, Any]:
    """The portal's view of the tenant's Slack connection (CONTRACT.md `GET /slack/installation`). No token field
    ever leaves this function."""
    installation = config.installation
    if installation is None:
        return {"installed": False, "status": "not_installed", "status_reason": None,
                "health": _health(config, installed=False)}
    if not installation.is_active:
        return {"installed": False, "status": str(installation.status), "status_reason": installation.status_reason,
                "status_changed_at": _iso(installation.status_changed_at), "health": _health(config, installed=False)}
    return {
        "installed": True,
        "status": str(installation.status),
        "status_reason": None,
        "team": {"id": installation.team_id, "name": installation.team_name},
        "enterprise_id": installation.enterprise_id,
        "bot_user_id": installation.bot_user_id,
        "scopes": list(installation.scopes),
        "installed_at": _iso(installation.installed_at),
        "routing_configured": config.routing_raw is not None,
        "health": _health(config, installed=True),
    }


def _shares_token_with_another_tenant(installation: Installation) -> bool:
    for other in tenants_for_team(installation.team_id):
        if other == installation.tenant_id:
            continue
        record = get_installation(other)
        if record is not None and record.is_active:
            return True
    return False


def revoke_at_slack(installation: Installation) -> str:
    """Revoke the installation's bot token at Slack; returns what happened (for the log), never raises."""
    if not installation.is_active:
        return "skipped_inactive"
    if _shares_token_with_another_tenant(installation):
        return "skipped_shared_team"
    try:
        token = bot_token(installation)
    except TokenUnavailable:
        return "skipped_no_token"
    failure = oauth.revoke(token)
    if failure is None:
        return "revoked"
    if oauth.already_refused(failure):
        return f"already_refused:{failure.error}"
    get_logger().warning("could not revoke the Slack token; deleting our copy anyway",
                         tenant_id=installation.tenant_id, failure=failure.describe())
    return f"failed:{failure.error}"


def disconnect(tenant_id: str) -> None:
    installation = get_installation(tenant_id)
    outcome = revoke_at_slack(installation) if installation is not None else "no_installation"
    deleted = delete_tenant_slack_data(tenant_id)
    directory.forget(tenant_id)
    get_logger().info("Slack disconnected", tenant_id=tenant_id, revoke=outcome, items_deleted=deleted,
                      team_id=installation.team_id if installation else None)
