"""`GET /slack/installation` and `DELETE /slack/installation` (portal, JWT).

GET reads installation, routing and channel health with the same single Query posting uses and answers what
the portal's Slack page shows: connected or not (and why not), the workspace, the granted scopes, and the
delivery health of each channel. No token field ever leaves this module.

DELETE disconnects: it revokes the bot token at Slack (`auth.revoke`), then deletes everything of the tenant
under `CONFIG#` (installation, routing, channel health). Decisions:
- Idempotent: without an installation the answer is still 204 (and any leftover configuration is deleted),
  so a portal retrying after a lost answer does not see an error.
- A token Slack already refuses (revoked, uninstalled, invalid) cannot be revoked again: delete and 204.
- Slack unreachable, rate limited or failing: the admin's intent is to disconnect, so our data is deleted
  anyway and the failure logged as a warning. With our only copy of the token gone nobody can use it; the app
  stays listed in the workspace until an admin removes it there (Slack then sends `app_uninstalled`, which
  finds no tenant and does nothing).
- Another tenant of ours with an active installation of the same Slack team may hold the same bot token
  (Slack keeps one bot token per app and workspace across reinstalls): revoking it would disconnect that
  tenant too, so the token is then left alone and only this tenant's data is deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import json_response, tenant_id
from sre_slack.observability import get_logger
from sre_slack.slack import directory as channel_directory
from sre_slack.slack.errors import FailureClass, classify
from sre_slack.storage.installations import (
    Installation,
    delete_tenant_slack_data,
    get_installation,
    tenants_for_team,
)
from sre_slack.storage.tenant_config import CHANNEL_OK, TenantConfig, load_tenant_config

router = Router()


def _iso(epoch: int | float | None) -> str | None:
    if not epoch:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _health(config: TenantConfig, installed: bool) -> dict[str, Any]:
    channels = [
        {"channel": h.channel_id, "status": h.status, "reason": h.reason, "permanent": h.permanent,
         "updated_at": _iso(h.updated_at)}
        for h in sorted(config.channel_health.values(), key=lambda h: h.channel_id)
    ]
    if not installed:
        status = "disconnected"
    elif any(c["status"] != CHANNEL_OK for c in channels):
        status = "degraded"
    else:
        status = "ok"
    return {"status": status, "channels": channels}


def installation_view(config: TenantConfig) -> dict[str, Any]:
    """The portal's view of the tenant's Slack connection (CONTRACT.md `GET /slack/installation`)."""
    installation = config.installation
    if installation is None:
        return {"installed": False, "status": "not_installed", "status_reason": None,
                "health": _health(config, installed=False)}
    if not installation.is_active:
        return {
            "installed": False,
            "status": str(installation.status),
            "status_reason": installation.status_reason,
            "status_changed_at": _iso(installation.status_changed_at),
            "health": _health(config, installed=False),
        }
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


@router.get("/slack/installation")
def get_installation_status() -> Response:
    config = load_tenant_config(tenant_id(router.current_event))
    return json_response(200, installation_view(config))


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
    from sre_slack.slack.client import read_client
    from sre_slack.slack.tokens import TokenUnavailable, bot_token

    if not installation.is_active:
        return "skipped_inactive"
    if _shares_token_with_another_tenant(installation):
        return "skipped_shared_team"
    try:
        token = bot_token(installation)
    except TokenUnavailable:
        return "skipped_no_token"
    try:
        read_client(token).auth_revoke()
    except Exception as exc:  # every failure is classified and logged; deletion goes on
        failure = classify(exc)
        if failure.failure_class == FailureClass.INSTALLATION:
            return f"already_refused:{failure.error}"
        get_logger().warning("could not revoke the Slack token; deleting our copy anyway",
                             tenant_id=installation.tenant_id, failure=failure.describe())
        return f"failed:{failure.error}"
    return "revoked"


@router.delete("/slack/installation")
def delete_installation() -> Response:
    tenant = tenant_id(router.current_event)
    installation = get_installation(tenant)
    outcome = revoke_at_slack(installation) if installation is not None else "no_installation"
    deleted = delete_tenant_slack_data(tenant)
    channel_directory.forget(tenant)
    get_logger().info("Slack disconnected", tenant_id=tenant, revoke=outcome, items_deleted=deleted,
                      team_id=installation.team_id if installation else None)
    return Response(status_code=204)
