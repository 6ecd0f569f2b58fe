"""The Slack install flow (OAuth v2), from the portal's Install button to the stored installation.

1. `begin_install` (portal, JWT): issue a state for the tenant; answer our own start URL.
2. `open_authorize` (browser): bind the state to this browser with a cookie, redirect to Slack's authorize page.
3. `complete_install` (browser, back from Slack): check the cookie, consume the state, exchange the code,
   look up the bot id, store the encrypted installation, send the browser back to the portal.
Every failure ends as a redirect to the portal with `status=error&reason=<code>` and nothing stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from sre_slack.contracts.settings import BOT_SCOPES, ConfigurationError, get_settings
from sre_slack.observability import get_logger
from sre_slack.storage.oauth_state import STATE_TTL_SECONDS, DynamoDBOAuthStateStore, StateError

if TYPE_CHECKING:
    from sre_slack.slack.credentials import SlackCredentials

START_PATH = "/slack/oauth/start"
CALLBACK_PATH = "/slack/oauth/callback"
STATE_COOKIE = "slack-app-oauth-state"
COOKIE_PATH = "/slack/oauth"


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


def _state_cookie_utils():  # type: ignore[no-untyped-def]
    from slack_sdk.oauth.state_utils import OAuthStateUtils

    return OAuthStateUtils(cookie_name=STATE_COOKIE, expiration_seconds=STATE_TTL_SECONDS)


def redirect_uri(api_base_url: str) -> str:
    """The callback URL: configured (custom domain) or derived from the API's own address."""
    configured = get_settings().oauth_redirect_url
    return configured or f"{api_base_url.rstrip('/')}{CALLBACK_PATH}"


def begin_install(tenant_id: str, api_base_url: str) -> str:
    state = DynamoDBOAuthStateStore().issue(tenant_id=tenant_id)
    get_logger().info("install started", tenant_id=tenant_id)
    return f"{api_base_url.rstrip('/')}{START_PATH}?{urlencode({'state': state})}"


def open_authorize(state: str, api_base_url: str) -> tuple[str, Cookie]:
    """Bind the state to this browser; answer (Slack authorize URL, the cookie that proves it)."""
    from slack_sdk.oauth import AuthorizeUrlGenerator

    # Before the state is spent on this browser: an unconfigured app must not burn the admin's link.
    client_id = _credentials().client_id
    DynamoDBOAuthStateStore().bind_browser(state)
    generator = AuthorizeUrlGenerator(
        client_id=client_id,
        scopes=list(BOT_SCOPES),
        redirect_uri=redirect_uri(api_base_url),
        authorization_url=get_settings().slack_authorize_url,
    )
    # Lax: the cookie must come back on Slack's top-level redirect to our callback.
    cookie = Cookie(STATE_COOKIE, state, path=COOKIE_PATH, secure=True, http_only=True,
                    max_age=STATE_TTL_SECONDS, same_site=SameSite.LAX_MODE)
    return generator.generate(state), cookie


def clear_state_cookie() -> Cookie:
    return Cookie(STATE_COOKIE, "deleted", path=COOKIE_PATH, secure=True, http_only=True,
                  expires=datetime(1970, 1, 1, tzinfo=UTC), same_site=SameSite.LAX_MODE)


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
    store = DynamoDBOAuthStateStore()
    if not state:
        raise InstallError("missing_state")
    # The cookie proves this browser is the one that started the flow; checked before the state is spent so a
    # foreign browser cannot burn the admin's state.
    if not _state_cookie_utils().is_valid_browser(state, {"cookie": cookies}):
        raise InstallError("browser_mismatch")
    try:
        record = store.consume_record(state)
    except StateError as exc:
        raise InstallError(exc.reason) from exc

    if query.get("error"):
        if query["error"] == "access_denied":
            return InstallOutcome("cancelled", tenant_id=record.tenant_id)
        raise InstallError(_safe_code(query["error"]), tenant_id=record.tenant_id)
    code = query.get("code")
    if not code:
        raise InstallError("missing_code", tenant_id=record.tenant_id)
    return _exchange_and_store(record.tenant_id, code, redirect_uri(api_base_url))


def _credentials() -> SlackCredentials:
    """The app's credentials, or an InstallError the admin can read when the operator has not filled them."""
    from sre_slack.slack.credentials import get_slack_credentials

    try:
        return get_slack_credentials()
    except ConfigurationError as exc:
        get_logger().error("Slack app credentials unusable: fill the secret (README: Deploying)", error=str(exc))
        raise InstallError("app_not_configured") from exc


def _exchange_and_store(tenant_id: str, code: str, callback_url: str) -> InstallOutcome:
    from slack_sdk.errors import SlackApiError

    from sre_slack.slack.client import read_client, write_client
    from sre_slack.storage.installations import Installation, save_installation

    try:
        credentials = _credentials()
    except InstallError as exc:
        raise InstallError(exc.reason, tenant_id=tenant_id) from exc
    try:
        # A code is single use: no automatic retry, which could only turn a lost answer into invalid_code.
        response = write_client().oauth_v2_access(client_id=credentials.client_id,
                                                  client_secret=credentials.client_secret,
                                                  code=code, redirect_uri=callback_url)
    except SlackApiError as exc:
        reason = _safe_code(str(exc.response.get("error") or "oauth_failed"))
        raise InstallError(reason, tenant_id=tenant_id) from exc
    except Exception as exc:
        raise InstallError("slack_unreachable", tenant_id=tenant_id) from exc

    token = response.get("access_token")
    team = response.get("team") or {}
    if response.get("is_enterprise_install"):
        raise InstallError("enterprise_install_unsupported", tenant_id=tenant_id)
    is_bot_token = isinstance(token, str) and token.startswith(("xoxb-", "xoxe.xoxb-"))
    if response.get("token_type") != "bot" or not is_bot_token:
        raise InstallError("no_bot_token", tenant_id=tenant_id)
    if not team.get("id") or not response.get("bot_user_id"):
        raise InstallError("incomplete_oauth_response", tenant_id=tenant_id)

    try:
        identity = read_client(token).auth_test()
    except SlackApiError as exc:
        reason = _safe_code(str(exc.response.get("error") or "auth_test_failed"))
        raise InstallError(reason, tenant_id=tenant_id) from exc
    except Exception as exc:
        raise InstallError("slack_unreachable", tenant_id=tenant_id) from exc

    expires_in = response.get("expires_in")
    installation = Installation(
        tenant_id=tenant_id,
        team_id=team["id"],
        team_name=team.get("name") or "",
        enterprise_id=(response.get("enterprise") or {}).get("id"),
        app_id=response.get("app_id"),
        bot_user_id=response["bot_user_id"],
        bot_id=identity.get("bot_id"),
        scopes=tuple(s for s in str(response.get("scope") or "").split(",") if s),
        installer_user_id=(response.get("authed_user") or {}).get("id"),
        installed_at=int(time.time()),
        token_expires_at=int(time.time()) + int(expires_in) if expires_in else None,
    )
    save_installation(installation, bot_token=token, refresh_token=response.get("refresh_token"))
    return InstallOutcome("installed", tenant_id=tenant_id, team_id=installation.team_id)


def _safe_code(value: str) -> str:
    """Reflect only a short machine code into the portal URL."""
    cleaned = "".join(ch for ch in value if ch.isalnum() or ch in "_-")[:64]
    return cleaned or "oauth_failed"
