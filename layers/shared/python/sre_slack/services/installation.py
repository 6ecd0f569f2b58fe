"""The tenant's Slack installation: the install flow (OAuth v2), what the portal shows of it, and disconnecting.

Install:
1. `begin_install` (portal, JWT): issue a state for the tenant; answer our own start URL.
2. `open_authorize` (browser): bind the state to this browser with a cookie, redirect to Slack's authorize page.
3. `complete_install` (browser, back from Slack): check the cookie, consume the state, exchange the code, look up
   the bot id, store the installation with its tokens encrypted, send the browser back to the portal.
Every failure ends as a redirect to the portal with `status=error&reason=<code>` and nothing stored.

Disconnect (`DELETE /slack/installation`) revokes the bot token at Slack, then deletes the tenant's Slack data:
- idempotent: without an installation it still succeeds (and deletes any leftover configuration);
- a token Slack already refuses cannot be revoked again: delete anyway;
- Slack unreachable or failing: the admin's intent is to disconnect, so our data is deleted anyway;
- another tenant of ours with an active installation of the same team may hold the same bot token (Slack keeps
  one bot token per app and workspace): revoking would disconnect it too, so the token is then left alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.shared.cookies import Cookie

from sre_slack.contracts.settings import ConfigurationError, get_settings
from sre_slack.observability import get_logger
from sre_slack.slack import directory, oauth
from sre_slack.slack.credentials import SlackCredentials, get_slack_credentials
from sre_slack.slack.tokens import TokenUnavailable, bot_token, encrypt_token
from sre_slack.storage.installations import (
    Installation,
    delete_tenant_slack_data,
    get_installation,
    save_installation,
    tenants_for_team,
)
from sre_slack.storage.oauth_state import DynamoDBOAuthStateStore, StateError
from sre_slack.storage.tenant_config import CHANNEL_OK, TenantConfig, load_tenant_config

START_PATH = "/slack/oauth/start"
CALLBACK_PATH = "/slack/oauth/callback"


@dataclass(frozen=True)
class InstallOutcome:
    status: str  # installed | cancelled | error
    reason: str | None = None
    tenant_id: str | None = None
    team_id: str | None = None

    def portal_redirect(self) -> str:
        query = {"status": self.status}
        if self.reason:
            query["reason"] = self.reason
        return f"{get_settings().portal_url}/integrations/slack?{urlencode(query)}"


class InstallError(Exception):
    def __init__(self, reason: str, *, tenant_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tenant_id = tenant_id


def redirect_uri(api_base_url: str) -> str:
    """The callback URL: configured (custom domain) or derived from the API's own address."""
    return get_settings().oauth_redirect_url or f"{api_base_url.rstrip('/')}{CALLBACK_PATH}"


def begin_install(tenant_id: str, api_base_url: str) -> str:
    state = DynamoDBOAuthStateStore().issue(tenant_id=tenant_id)
    get_logger().info("install started", tenant_id=tenant_id)
    return f"{api_base_url.rstrip('/')}{START_PATH}?{urlencode({'state': state})}"


def open_authorize(state: str, api_base_url: str) -> tuple[str, Cookie]:
    """Bind the state to this browser; answer (Slack authorize URL, the cookie that proves it)."""
    # Before the state is spent on this browser: an unconfigured app must not burn the admin's link.
    client_id = _credentials().client_id
    try:
        DynamoDBOAuthStateStore().bind_browser(state)
    except StateError as exc:
        raise InstallError(exc.reason) from exc
    return oauth.authorize_url(client_id, state, redirect_uri(api_base_url)), oauth.state_cookie(state)


def cleared_state_cookie() -> Cookie:
    """The callback spends the state: the browser forgets its cookie, whatever the outcome."""
    return oauth.cleared_state_cookie()


def complete_install(*, query: dict[str, str], cookies: list[str], api_base_url: str) -> InstallOutcome:
    logger = get_logger()
    try:
        outcome = _complete(query=query, cookies=cookies, api_base_url=api_base_url)
    except InstallError as exc:
        logger.warning("install failed", reason=exc.reason, tenant_id=exc.tenant_id)
        return InstallOutcome("error", exc.reason, exc.tenant_id)
    logger.info("install finished", status=outcome.status, tenant_id=outcome.tenant_id, team_id=outcome.team_id)
    return outcome


def _complete(*, query: dict[str, str], cookies: list[str], api_base_url: str) -> InstallOutcome:
    state = query.get("state") or ""
    if not state:
        raise InstallError("missing_state")
    # The cookie proves this browser is the one that started the flow; checked before the state is spent so a
    # foreign browser cannot burn the admin's state.
    if not oauth.browser_holds_state(state, cookies):
        raise InstallError("browser_mismatch")
    try:
        record = DynamoDBOAuthStateStore().consume_record(state)
    except StateError as exc:
        raise InstallError(exc.reason) from exc
    tenant = record.tenant_id
    if query.get("error"):
        if query["error"] == "access_denied":
            return InstallOutcome("cancelled", tenant_id=tenant)
        raise InstallError(oauth.safe_code(query["error"]), tenant_id=tenant)
    code = query.get("code")
    if not code:
        raise InstallError("missing_code", tenant_id=tenant)
    try:
        credentials = _credentials()
        grant = oauth.exchange_code(credentials, code, redirect_uri(api_base_url))
    except InstallError as exc:
        raise InstallError(exc.reason, tenant_id=tenant) from exc
    except oauth.OAuthFailed as exc:
        raise InstallError(exc.reason, tenant_id=tenant) from exc
    store_installation(Installation(
        tenant_id=tenant, team_id=grant.team_id, team_name=grant.team_name, enterprise_id=grant.enterprise_id,
        app_id=grant.app_id, bot_user_id=grant.bot_user_id, bot_id=grant.bot_id, scopes=grant.scopes,
        installer_user_id=grant.installer_user_id, installed_at=int(time.time()), token_expires_at=grant.expires_at,
    ), bot_token=grant.bot_token, refresh_token=grant.refresh_token)
    return InstallOutcome("installed", tenant_id=tenant, team_id=grant.team_id)


def store_installation(installation: Installation, *, bot_token: str, refresh_token: str | None) -> Installation:
    """Store (or replace, on reinstall) the tenant's installation, its tokens encrypted for that tenant."""
    tenant = installation.tenant_id
    return save_installation(replace(
        installation, token_ciphertext=encrypt_token(tenant, bot_token),
        refresh_token_ciphertext=encrypt_token(tenant, refresh_token) if refresh_token else None))


def _credentials() -> SlackCredentials:
    """The app's credentials, or an InstallError the admin can read when the operator has not filled them."""
    try:
        return get_slack_credentials()
    except ConfigurationError as exc:
        get_logger().error("Slack app credentials unusable: fill the secret (README: Deploying)", error=str(exc))
        raise InstallError("app_not_configured") from exc


# ------------------------------------------------------------------------------------------------ status


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


# ------------------------------------------------------------------------------------------------ disconnect


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
