"""The install flow (OAuth v2), from the portal's Install button to the stored installation.

Install:
1. `begin_install` (portal, JWT): issue a state for the tenant; answer our own start URL.
2. `open_authorize` (browser): bind the state to this browser with a cookie, redirect to Slack's authorize page.
3. `complete_install` (browser, back from Slack): check the cookie, consume the state, exchange the code, look up
   the bot id, store the installation with its tokens encrypted, send the browser back to the portal.
Every failure ends as a redirect to the portal with `status=error&reason=<code>` and nothing stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from aws_lambda_powertools.shared.cookies import Cookie

from sre_slack.contracts.settings import ConfigurationError, get_settings
from sre_slack.observability import get_logger
from sre_slack.slack import oauth
from sre_slack.slack.credentials import SlackCredentials, get_slack_credentials
from sre_slack.slack.tokens import encrypt_token
from sre_slack.storage.installations import Installation, save_installation
from sre_slack.storage.oauth_state import DynamoDBOAuthStateStore, StateError

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
