"""Helpers that drive the functions the way API Gateway, Slack and the browser do."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from localdev.gateway import build_http_event
from localdev.handlers import LocalFunctions
from localdev.slack_standin import SlackStandIn
from sre_slack.storage import keys, ledger
from sre_slack.storage.table import table

API_DOMAIN = "api.example.com"
ROUTE_FUNCTIONS = {
    "/slack/install": "OAuthCallbackFunction",
    "/slack/oauth/start": "OAuthCallbackFunction",
    "/slack/oauth/callback": "OAuthCallbackFunction",
    "/slack/interactions": "FeedbackFunction",
    "/slack/events": "SlackEventsFunction",
}


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)
    body: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def location(self) -> str:
        return self.headers.get("Location") or self.headers.get("location") or ""

    @property
    def location_query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}


def function_for(path: str) -> str:
    return ROUTE_FUNCTIONS.get(path, "PortalApiFunction")


def call_http(functions: LocalFunctions, method: str, path: str, *, tenant: str | None = "t_acme",
              claims: dict[str, Any] | None = None, body: str | bytes | None = None,
              headers: dict[str, str] | None = None, cookies: list[str] | None = None,
              query: dict[str, str] | None = None, is_base64: bool = False,
              function: str | None = None) -> HttpResult:
    """Invoke the function serving `method path` with an API Gateway HTTP API (payload 2.0) event.

    `tenant` fills the JWT authorizer's claims as API Gateway would after validating the portal's token;
    None (or Slack-facing routes) sends no authorizer context at all.
    """
    logical_id = function or function_for(path)
    jwt_claims = claims if claims is not None else ({"tenant_id": tenant, "sub": "portal-user"} if tenant else None)
    if logical_id in ("FeedbackFunction", "SlackEventsFunction") or path.startswith("/slack/oauth/"):
        jwt_claims = None
    if isinstance(body, bytes) and not is_base64:
        body = body.decode()
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode()
    event = build_http_event(method, path, headers=headers, query=query, body=body, cookies=cookies,
                             claims=jwt_claims, is_base64=is_base64, domain=API_DOMAIN)
    response = functions.invoke(logical_id, event)
    raw_body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        raw_body = base64.b64decode(raw_body).decode()
    return HttpResult(status=response["statusCode"], headers=dict(response.get("headers") or {}),
                      cookies=list(response.get("cookies") or []), body=raw_body)


def cookie_pair(set_cookie: str) -> str:
    """`name=value; Path=...; Secure` -> `name=value`, what a browser sends back."""
    return set_cookie.split(";", 1)[0].strip()


@dataclass
class InstallRun:
    authorize_url: str
    start: HttpResult
    callback: HttpResult
    state: str
    cookie: str


def run_install(functions: LocalFunctions, slack: SlackStandIn, *, tenant: str = "t_acme",
                team_id: str = "T0LOCAL", deny: bool = False) -> InstallRun:
    """The whole browser flow: portal asks for the URL, browser opens it, admin allows, Slack redirects back."""
    answer = call_http(functions, "POST", "/slack/install", tenant=tenant)
    assert answer.status == 200, answer.body
    authorize_url = answer.json["authorize_url"]
    parts = urlsplit(authorize_url)
    state = parse_qs(parts.query)["state"][0]
    start = call_http(functions, "GET", parts.path, query={"state": state})
    assert start.status == 302, start.body
    cookie = cookie_pair(start.cookies[0])
    slack_query = {k: v[0] for k, v in parse_qs(urlsplit(start.location).query).items()}
    if deny:
        callback_query = {"error": "access_denied", "state": slack_query["state"]}
    else:
        code = slack.issue_code(slack_query["redirect_uri"], team_id=team_id, scopes=slack_query["scope"])
        callback_query = {"code": code, "state": slack_query["state"]}
    callback = call_http(functions, "GET", "/slack/oauth/callback", query=callback_query, cookies=[cookie])
    return InstallRun(authorize_url, start, callback, state, cookie)


def signed_headers(body: str | bytes, secret: str, *, timestamp: int | None = None,
                   content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    data = body.decode() if isinstance(body, bytes) else body
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=data)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, "Content-Type": content_type}


def form_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def digest_marker(tenant: str, day: date | str, channel: str) -> dict[str, Any] | None:
    """The ledger delivery of one channel's digest, as stored."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return table().get(keys.digest_marker_key(tenant, day, channel))


def claim_digest(tenant: str, day: date | str, channel: str, *, lease_until: float) -> None:
    """What an invocation that claimed a channel's digest left behind (alive, or dead once the lease passed)."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    claimed = ledger.claim(keys.digest_marker_key(tenant, day, channel), channel,
                           ledger.Attempt("other-invocation", lease_until), when_absent=True)
    assert claimed.claimed
