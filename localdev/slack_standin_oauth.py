"""OAuth v2 of the stand-in: the authorize page a person clicks through, and `oauth.v2.access`."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from localdev.slack_standin_api import ApiError, StandInSettings
from localdev.slack_standin_state import (
    APP_ID,
    APP_NAME,
    CODE_LIFETIME_S,
    DEFAULT_TEAM_ID,
    INSTALLER_USER_ID,
    AuthCode,
    Workspace,
)

AUTHORIZE_PATH = "/oauth/v2/authorize"


def split_scopes(raw: str | Iterable[str] | None) -> frozenset[str]:
    if raw is None:
        return frozenset()
    parts = raw.replace(" ", ",").split(",") if isinstance(raw, str) else list(raw)
    return frozenset(p.strip() for p in parts if p.strip())


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def issue_code(
    store: Workspace, *, client_id: str, redirect_uri: str | None, team_id: str, scopes: frozenset[str]
) -> str:
    if team_id not in store.teams:
        raise KeyError(f"unknown team {team_id}")
    value = f"{int(time.time())}.{secrets.token_hex(16)}"
    store.codes[value] = AuthCode(value, client_id, redirect_uri, team_id, scopes, time.time() + CODE_LIFETIME_S)
    return value


# -- the page -------------------------------------------------------------------------------------------
def authorize_page(store: Workspace, settings: StandInSettings, query: dict[str, str]) -> tuple[int, str]:
    problem = _authorize_problem(settings, query)
    if problem:
        return 400, _page("Installation problem", f"<p class='err'>{escape(problem)}</p>")
    scopes = sorted(split_scopes(query.get("scope")))
    chosen_team = query.get("team") or DEFAULT_TEAM_ID
    hidden = "".join(
        f"<input type='hidden' name='{escape(k)}' value='{escape(query.get(k, ''))}'>"
        for k in ("client_id", "scope", "redirect_uri", "state")
    )
    options = "".join(
        f"<option value='{escape(t.id)}'{' selected' if t.id == chosen_team else ''}>"
        f"{escape(t.name)} ({escape(t.id)})</option>"
        for t in store.teams.values()
    )
    scope_items = "".join(f"<li><code>{escape(s)}</code></li>" for s in scopes)
    body = f"""
<p><b>{escape(APP_NAME)}</b> (<code>{APP_ID}</code>) is requesting permission to access a workspace.</p>
<p>It will be able to:</p><ul class='scopes'>{scope_items}</ul>
<form method='post' action='{AUTHORIZE_PATH}' class='allow'>{hidden}
  <label>Workspace <select name='team'>{options}</select></label>
  <input type='hidden' name='decision' value='allow'>
  <button type='submit' id='allow'>Allow</button>
</form>
<form method='post' action='{AUTHORIZE_PATH}' class='cancel'>{hidden}
  <input type='hidden' name='decision' value='cancel'>
  <button type='submit' id='cancel'>Cancel</button>
</form>"""
    return 200, _page(f"Install {APP_NAME}", body)


def authorize_decision(store: Workspace, settings: StandInSettings, form: dict[str, str]) -> tuple[int, str, str]:
    """Answers (status, location, html): a 302 to the app's redirect_uri, or a 400 page."""
    problem = _authorize_problem(settings, form)
    if problem:
        return 400, "", _page("Installation problem", f"<p class='err'>{escape(problem)}</p>")
    redirect_uri = form["redirect_uri"]
    state = form.get("state") or None
    if form.get("decision") != "allow":
        return 302, with_query(redirect_uri, {"error": "access_denied", "state": state}), ""
    team_id = form.get("team") or DEFAULT_TEAM_ID
    if team_id not in store.teams:
        return 400, "", _page("Installation problem", "<p class='err'>Unknown workspace.</p>")
    code = issue_code(
        store,
        client_id=form["client_id"],
        redirect_uri=redirect_uri,
        team_id=team_id,
        scopes=split_scopes(form.get("scope")),
    )
    return 302, with_query(redirect_uri, {"code": code, "state": state}), ""


def _authorize_problem(settings: StandInSettings, params: dict[str, str]) -> str | None:
    if params.get("client_id") != settings.client_id:
        return "invalid_client_id: this app is not known to the workspace."
    if not params.get("redirect_uri"):
        return "bad_redirect_uri: the request has no redirect_uri."
    if not split_scopes(params.get("scope")):
        return "invalid_scope: the request asks for no scopes."
    return None


def _page(title: str, body: str) -> str:
    return f"""<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:3em auto}}
form{{display:inline-block;margin:1em 1em 0 0}} button{{padding:.5em 1.5em}}
#allow{{background:#007a5a;color:#fff;border:0}} .err{{color:#b00}}</style></head>
<body><h1>{escape(title)}</h1>{body}</body></html>"""


# -- oauth.v2.access ------------------------------------------------------------------------------------
def oauth_v2_access(
    store: Workspace, settings: StandInSettings, params: dict[str, Any], basic_auth: tuple[str, str] | None
) -> dict[str, Any]:
    client_id, client_secret = basic_auth or (params.get("client_id"), params.get("client_secret"))
    if not client_id or str(client_id) != settings.client_id:
        raise ApiError("invalid_client_id")
    if not client_secret or not hmac.compare_digest(str(client_secret), settings.client_secret):
        raise ApiError("bad_client_secret")
    if params.get("grant_type") == "refresh_token":
        return _refresh(store, settings, str(params.get("refresh_token") or ""))
    if params.get("grant_type") not in (None, "", "authorization_code"):
        raise ApiError("invalid_grant_type")
    code = store.codes.get(str(params.get("code") or ""))
    if code is None or code.used or code.client_id != client_id or time.time() >= code.expires_at:
        raise ApiError("invalid_code")
    if code.redirect_uri is not None and params.get("redirect_uri") != code.redirect_uri:
        raise ApiError("bad_redirect_uri")
    code.used = True
    return _grant(store, settings, code.team_id, code.scopes)


def _refresh(store: Workspace, settings: StandInSettings, value: str) -> dict[str, Any]:
    refresh = store.refresh_tokens.get(value)
    if refresh is None or not refresh.valid:
        raise ApiError("invalid_refresh_token")
    # Like Slack: the old refresh token dies now, the old access token lives on until it expires.
    refresh.valid = False
    return _grant(store, settings, refresh.team_id, refresh.scopes, rotation=True)


def _grant(
    store: Workspace,
    settings: StandInSettings,
    team_id: str,
    scopes: frozenset[str],
    *,
    rotation: bool | None = None,
) -> dict[str, Any]:
    rotation = settings.token_rotation if rotation is None else rotation
    team = store.teams[team_id]
    token, refresh = store.issue_token(team_id, scopes, rotation=rotation, lifetime_s=settings.expires_in)
    body: dict[str, Any] = {
        "access_token": token.value,
        "token_type": "bot",
        "scope": ",".join(sorted(scopes)),
        "bot_user_id": team.bot_user_id,
        "app_id": APP_ID,
        "team": {"id": team.id, "name": team.name},
        "enterprise": None,
        "authed_user": {"id": INSTALLER_USER_ID},
        "is_enterprise_install": False,
    }
    if refresh is not None:
        body["refresh_token"] = refresh.value
        body["expires_in"] = settings.expires_in
    return body
