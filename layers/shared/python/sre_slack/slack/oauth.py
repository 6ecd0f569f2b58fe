"""Slack's side of the install flow (OAuth v2), with slack_sdk's OAuth helpers: the authorize URL, the browser's
state cookie, the code exchange (`oauth.v2.access` + `auth.test`) and revoking a token (`auth.revoke`).

Failures come back as `OAuthFailed` with a short machine code for the portal's `status=error&reason=`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.state_utils import OAuthStateUtils

from sre_slack.contracts.settings import BOT_SCOPES, get_settings
from sre_slack.domain.delivery_policy import FailureClass
from sre_slack.slack.client import read_client, write_client
from sre_slack.slack.credentials import SlackCredentials
from sre_slack.slack.errors import SlackFailure, classify
from sre_slack.storage.oauth_state import STATE_TTL_SECONDS

STATE_COOKIE = "slack-app-oauth-state"
COOKIE_PATH = "/slack/oauth"

_cookies = OAuthStateUtils(cookie_name=STATE_COOKIE, expiration_seconds=STATE_TTL_SECONDS)


class OAuthFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Grant:
    """What Slack granted: the bot token and the facts of the installation."""

    bot_token: str
    refresh_token: str | None
    expires_at: int | None
    team_id: str
    team_name: str
    enterprise_id: str | None
    app_id: str | None
    bot_user_id: str
    bot_id: str | None
    scopes: tuple[str, ...]
    installer_user_id: str | None

    def __repr__(self) -> str:  # never print tokens, even by accident in a traceback
        return f"Grant(team_id={self.team_id!r}, bot_user_id={self.bot_user_id!r}, tokens=***)"


def authorize_url(client_id: str, state: str, redirect_uri: str) -> str:
    generator = AuthorizeUrlGenerator(client_id=client_id, scopes=list(BOT_SCOPES), redirect_uri=redirect_uri,
                                      authorization_url=get_settings().slack_authorize_url)
    return generator.generate(state)


def state_cookie(state: str) -> Cookie:
    # Lax: the cookie must come back on Slack's top-level redirect to our callback.
    return Cookie(STATE_COOKIE, state, path=COOKIE_PATH, secure=True, http_only=True, max_age=STATE_TTL_SECONDS,
                  same_site=SameSite.LAX_MODE)


def cleared_state_cookie() -> Cookie:
    return Cookie(STATE_COOKIE, "deleted", path=COOKIE_PATH, secure=True, http_only=True,
                  expires=datetime(1970, 1, 1, tzinfo=UTC), same_site=SameSite.LAX_MODE)


def browser_holds_state(state: str, cookies: list[str]) -> bool:
    """The browser sent back the cookie that binds it to `state`."""
    return _cookies.is_valid_browser(state, {"cookie": cookies})


def safe_code(value: str) -> str:
    """Reflect only a short machine code into the portal URL."""
    cleaned = "".join(ch for ch in value if ch.isalnum() or ch in "_-")[:64]
    return cleaned or "oauth_failed"


def exchange_code(credentials: SlackCredentials, code: str, redirect_uri: str) -> Grant:
    """`oauth.v2.access` then `auth.test` (for the bot id). Raises OAuthFailed."""
    try:
        # A code is single use: no automatic retry, which could only turn a lost answer into invalid_code.
        response = write_client().oauth_v2_access(client_id=credentials.client_id,
                                                  client_secret=credentials.client_secret, code=code,
                                                  redirect_uri=redirect_uri)
    except SlackApiError as exc:
        raise OAuthFailed(safe_code(str(exc.response.get("error") or "oauth_failed"))) from exc
    except Exception as exc:
        raise OAuthFailed("slack_unreachable") from exc
    token = response.get("access_token")
    team = response.get("team") or {}
    if response.get("is_enterprise_install"):
        raise OAuthFailed("enterprise_install_unsupported")
    if response.get("token_type") != "bot" or not (isinstance(token, str)
                                                  and token.startswith(("xoxb-", "xoxe.xoxb-"))):
        raise OAuthFailed("no_bot_token")
    if not team.get("id") or not response.get("bot_user_id"):
        raise OAuthFailed("incomplete_oauth_response")
    try:
        identity = read_client(token).auth_test()
    except SlackApiError as exc:
        raise OAuthFailed(safe_code(str(exc.response.get("error") or "auth_test_failed"))) from exc
    except Exception as exc:
        raise OAuthFailed("slack_unreachable") from exc
    expires_in = response.get("expires_in")
    return Grant(
        bot_token=token, refresh_token=response.get("refresh_token"),
        expires_at=int(time.time()) + int(expires_in) if expires_in else None,
        team_id=team["id"], team_name=team.get("name") or "",
        enterprise_id=(response.get("enterprise") or {}).get("id"), app_id=response.get("app_id"),
        bot_user_id=response["bot_user_id"], bot_id=identity.get("bot_id"),
        scopes=tuple(s for s in str(response.get("scope") or "").split(",") if s),
        installer_user_id=(response.get("authed_user") or {}).get("id"),
    )


def revoke(token: str) -> SlackFailure | None:
    """`auth.revoke`; None when Slack revoked it, else the failure (never raises)."""
    try:
        read_client(token).auth_revoke()
    except Exception as exc:  # every failure is classified; the caller decides what it means
        return classify(exc)
    return None


def already_refused(failure: SlackFailure) -> bool:
    return failure.failure_class == FailureClass.INSTALLATION
