"""A local Slack: an HTTP server on loopback that speaks the Slack Web API, OAuth v2 and interactivity.

The test suite points `slack_sdk.WebClient(base_url=standin.api_url)` (or SLACK_API_URL) at it; `make run`
serves it to a browser. State lives in memory, so `reset()` gives each test a fresh workspace.

    with SlackStandIn() as slack:
        token = slack.issue_token()
        WebClient(token=token, base_url=slack.api_url).chat_postMessage(channel="C0ALERTS", text="hi")
        assert slack.messages("C0ALERTS")[0].text == "hi"
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import email.parser
import email.policy
import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from localdev.slack_standin_api import ApiError, Call, WebApi, authenticate
from localdev.slack_standin_blocks import PayloadError, parse_blocks, validate_message
from localdev.slack_standin_faults import FaultInjector, RandomFaults
from localdev.slack_standin_interactivity import (
    InteractionResult,
    apply_view_response,
    block_actions_payload,
    deliver,
    find_action,
    signed_form,
    view_submission_payload,
)
from localdev.slack_standin_oauth import (
    AUTHORIZE_PATH,
    authorize_decision,
    authorize_page,
    issue_code,
    oauth_v2_access,
    split_scopes,
)
from localdev.slack_standin_state import (
    DEFAULT_SCOPES,
    DEFAULT_TEAM_ID,
    INSTALLER_USER_ID,
    ROTATED_TOKEN_LIFETIME_S,
    TRIGGER_LIFETIME_S,
    Channel,
    Message,
    RecordedCall,
    User,
    View,
    Workspace,
    redact_params,
)

__all__ = ["DEFAULT_SCOPES", "InteractionResult", "Message", "RecordedCall", "SlackStandIn", "View"]

logger = logging.getLogger("localdev.slack_standin")

MAX_BODY_BYTES = 5 * 1024 * 1024


# A server's latency is wall-clock time, whatever a test does to its own process's clock (tests/chaos).
_wall_clock_sleep = time.sleep

class SlackStandIn:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_id: str = "local-client-id",
        client_secret: str = "local-client-secret",  # noqa: S107 - made-up sandbox value
        signing_secret: str = "local-signing-secret",  # noqa: S107 - made-up sandbox value
        token_rotation: bool = False,
        interactivity_url: str | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.client_id = client_id
        self.client_secret = client_secret
        self.signing_secret = signing_secret
        self.token_rotation = token_rotation
        self.interactivity_url = interactivity_url
        # Lifetime of rotated access tokens; tests shorten it instead of waiting 12 hours.
        self.expires_in: int = ROTATED_TOKEN_LIFETIME_S
        self.trigger_lifetime: float = TRIGGER_LIFETIME_S
        # Slack gives up after 3 s; locally a cold handler may need longer, and a person is watching anyway.
        self.interaction_timeout: float = 10.0
        self._initial = (token_rotation, interactivity_url)
        self.store = Workspace()
        self.faults = FaultInjector()
        self.api = WebApi(self.store, self)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> SlackStandIn:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self.host, self._requested_port), _Handler)
        server.daemon_threads = True
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="slack-standin", daemon=True)
        self._thread.start()
        logger.info("Slack stand-in listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Back to the initial workspace and configuration; the server keeps running on its port."""
        with self.store.lock:
            self.store.reset()
        self.faults.reset()
        self.token_rotation, self.interactivity_url = self._initial
        self.expires_in = ROTATED_TOKEN_LIFETIME_S
        self.trigger_lifetime = TRIGGER_LIFETIME_S
        self.interaction_timeout = 10.0

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Slack stand-in is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}api/"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}{AUTHORIZE_PATH.lstrip('/')}"

    # -- workspace setup -------------------------------------------------------------------------------
    def add_team(self, team_id: str, name: str) -> None:
        """A second workspace for multi-tenant tests, with one public channel `C<id>GENERAL` the bot is in."""
        with self.store.lock:
            team = self.store.add_team(team_id, name)
            channel_id = f"C{team.id.removeprefix('T')}GENERAL"
            self.store.channels[channel_id] = Channel(channel_id, "general", team.id, bot_member=True)

    def add_user(self, user_id: str, name: str, real_name: str | None = None) -> None:
        """Another person in the workspace (clicks name them; views.open checks the trigger's user)."""
        with self.store.lock:
            self.store.users[user_id] = User(user_id, name, real_name or name.title())

    def add_channel(
        self,
        id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        bot_member: bool = False,
        team_id: str = DEFAULT_TEAM_ID,
    ) -> None:
        with self.store.lock:
            if team_id not in self.store.teams:
                raise KeyError(f"unknown team {team_id}")
            self.store.channels[id] = Channel(id, name, team_id, is_private, is_archived, bot_member)

    def add_channels(
        self, n: int, prefix: str = "bulk", *, bot_member: bool = False, team_id: str = DEFAULT_TEAM_ID
    ) -> list[str]:
        """n public channels `<prefix>-0001`...; returns their ids (for pagination tests)."""
        ids = []
        for i in range(1, n + 1):
            channel_id = f"C0{prefix.upper().replace('-', '')}{i:04d}"
            self.add_channel(channel_id, f"{prefix}-{i:04d}", bot_member=bot_member, team_id=team_id)
            ids.append(channel_id)
        return ids

    def archive_channel(self, channel_id: str) -> None:
        with self.store.lock:
            self.store.channels[channel_id].is_archived = True

    def delete_channel(self, channel_id: str) -> None:
        with self.store.lock:
            self.store.channels.pop(channel_id, None)

    def set_bot_member(self, channel_id: str, member: bool = True) -> None:
        """Invite or kick the bot, as a workspace member would."""
        with self.store.lock:
            self.store.channels[channel_id].bot_member = member

    def channel(self, channel_id: str) -> dict[str, Any]:
        """The channel as conversations.info would show it."""
        with self.store.lock:
            return self.store.channels[channel_id].to_api()

    def post_user_message(self, channel: str, text: str, user_id: str = INSTALLER_USER_ID) -> str:
        """A message written by a person (the bot cannot update it)."""
        with self.store.lock:
            team_id = self.store.channels[channel].team_id
            ts = self.store.next_ts()
            self.store.messages[(channel, ts)] = Message(channel, ts, text, [], user_id, None, team_id)
            return ts

    # -- OAuth and tokens ------------------------------------------------------------------------------
    def issue_code(
        self,
        redirect_uri: str | None,
        team_id: str = DEFAULT_TEAM_ID,
        scopes: Iterable[str] | str = DEFAULT_SCOPES,
        *,
        client_id: str | None = None,
    ) -> str:
        """What the Allow button does, without the browser: a single-use code for oauth.v2.access."""
        with self.store.lock:
            return issue_code(
                self.store,
                client_id=client_id or self.client_id,
                redirect_uri=redirect_uri,
                team_id=team_id,
                scopes=split_scopes(scopes),
            )

    def issue_token(self, team_id: str = DEFAULT_TEAM_ID, scopes: Iterable[str] | str = DEFAULT_SCOPES) -> str:
        """A bot token as an install would give it (rotating when token_rotation is on)."""
        with self.store.lock:
            token, _ = self.store.issue_token(
                team_id, split_scopes(scopes), rotation=self.token_rotation, lifetime_s=self.expires_in
            )
            return token.value

    def revoke_token(self, token: str) -> bool:
        with self.store.lock:
            return self.api.revoke(token)

    def expire_token(self, token: str) -> None:
        """Make a rotating token expire now, so tests need not wait for it."""
        with self.store.lock:
            self.store.tokens[token].expires_at = time.time() - 1

    def tokens_for(self, team_id: str) -> list[str]:
        """The team's bot tokens that would still authenticate (not revoked, not expired)."""
        now = time.time()
        with self.store.lock:
            return [
                t.value
                for t in self.store.tokens.values()
                if t.team_id == team_id and not t.revoked and (t.expires_at is None or t.expires_at > now)
            ]

    def token_scopes(self, token: str) -> frozenset[str]:
        with self.store.lock:
            return self.store.tokens[token].scopes

    # -- interactivity helpers -------------------------------------------------------------------------
    def issue_trigger(self, team_id: str = DEFAULT_TEAM_ID, user_id: str = INSTALLER_USER_ID) -> str:
        """A trigger_id as a click would carry it (valid for `trigger_lifetime` seconds, once)."""
        with self.store.lock:
            return self.api.issue_trigger(team_id, user_id)

    def click(self, channel: str, ts: str, action_id: str, user_id: str = INSTALLER_USER_ID,
              option: str | None = None, *, retries: int = 0) -> InteractionResult:
        """Click the button `action_id` of a posted message: a signed block_actions POST to interactivity_url. For an
        overflow menu (or select), pick its option `option` (the first when None). `retries`: Slack delivers the
        same payload that many times again (`X-Slack-Retry-Num` 1, 2, ...), as after a slow answer; the result is
        the last answer's."""
        url = self._interactivity_url()
        with self.store.lock:
            found_channel = self.store.channels.get(channel)
            message = self.store.messages.get((channel, ts))
            if found_channel is None or message is None or message.deleted:
                raise LookupError(f"no message {ts} in {channel}")
            found = find_action(message, action_id)
            if found is None:
                raise LookupError(f"message {ts} has no element with action_id {action_id!r}")
            team = self.store.teams[found_channel.team_id]
            user = self.store.users[user_id]
            trigger_id = self.api.issue_trigger(team.id, user.id, channel=channel)
            payload = block_actions_payload(
                team=team,
                user=user,
                channel=found_channel,
                message=message,
                block_id=found[0],
                element=found[1],
                response_url=self.response_url_for(channel, ts, user_id),
                trigger_id=trigger_id,
                option=option,
            )
        body, headers = signed_form(payload, self.signing_secret)
        result = deliver(url, body, headers, self.interaction_timeout)
        for attempt in range(1, retries + 1):
            retry_headers = {**headers, "X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
            result = deliver(url, body, retry_headers, self.interaction_timeout)
        with self.store.lock:
            return replace(result, opened_view_id=self.store.triggers[trigger_id].view_id)

    def submit_view(
        self, view_id: str, values: dict[str, dict[str, Any]], user_id: str | None = None
    ) -> InteractionResult:
        """Press Submit on an open modal. `values` is {block_id: {action_id: value}}; a value is the text
        typed, the option value chosen (list for multi-selects), or a full state.values entry."""
        url = self._interactivity_url()
        with self.store.lock:
            view = self.store.views.get(view_id)
            if view is None or view.closed:
                raise LookupError(f"no open view {view_id}")
            team = self.store.teams[view.team_id]
            user = self.store.users[user_id or view.user_id]
            trigger_id = self.api.issue_trigger(team.id, user.id, channel=view.origin_channel)
            payload = view_submission_payload(team=team, user=user, view=view, values=values, trigger_id=trigger_id)
        body, headers = signed_form(payload, self.signing_secret)
        result = deliver(url, body, headers, self.interaction_timeout)
        with self.store.lock:
            apply_view_response(self.store.views[view_id], result)
        return result

    def close_view(self, view_id: str) -> None:
        """The person pressed Cancel (Slack sends nothing unless notify_on_close, which we do not emulate)."""
        with self.store.lock:
            self.store.views[view_id].closed = True

    def open_views(self, user_id: str | None = None) -> list[View]:
        with self.store.lock:
            found = [v for v in self.store.views.values() if not v.closed and user_id in (None, v.user_id)]
            return copy.deepcopy(found)

    def _interactivity_url(self) -> str:
        if not self.interactivity_url:
            raise RuntimeError("interactivity_url is not set on the Slack stand-in")
        return self.interactivity_url

    def response_url_for(self, channel: str, ts: str, user_id: str = INSTALLER_USER_ID) -> str:
        with self.store.lock:
            entry = self.api.issue_response_url(self.store.channels[channel].team_id, channel, ts)
            entry.user_id = user_id
            return f"{self.base_url}response_url/{entry.id}"

    # -- fault injection -------------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        channel: str | None = None,
        close_connection: bool = False,
        after_processing: bool = False,
    ) -> None:
        """The next `times` calls of `method` ("*" for any) fail: Slack error, HTTP status, 429 or a reset; with
        `after_processing` the call is carried out first (the message exists) and then the failure is answered."""
        self.faults.fail_next(
            method,
            error=error,
            status=status,
            retry_after=retry_after,
            times=times,
            channel=channel,
            close_connection=close_connection,
            after_processing=after_processing,
        )

    def fail_randomly(self, rate: float, **options: object) -> RandomFaults:
        """Seeded random faults on a share of calls (see slack_standin_faults.RANDOM_FAULTS)."""
        return self.faults.fail_randomly(rate, **options)  # type: ignore[arg-type]

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        self.faults.set_latency(seconds, method)

    def enforce_channel_rate(self, max_per_second: float | None = 1.0, burst: int = 3) -> None:
        self.faults.enforce_channel_rate(max_per_second, burst)

    # -- observation -----------------------------------------------------------------------------------
    @property
    def calls(self) -> list[RecordedCall]:
        with self.store.lock:
            return list(self.store.calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str | None = None) -> list[Message]:
        """Messages as they stand now (updates applied, deleted ones gone), oldest first."""
        with self.store.lock:
            return copy.deepcopy(self.store.channel_messages(channel))

    def top_level(self, channel: str) -> list[Message]:
        """What the channel itself shows: messages not in a thread, and thread replies broadcast to it."""
        return [m for m in self.messages(channel) if m.thread_ts is None or m.reply_broadcast]

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        """The thread of a message (conversations.replies without the parent), oldest first."""
        with self.store.lock:
            return copy.deepcopy(self.store.thread_replies(channel, thread_ts))

    def message(self, channel: str, ts: str) -> Message | None:
        with self.store.lock:
            found = self.store.messages.get((channel, ts))
            return None if found is None or found.deleted else copy.deepcopy(found)

    def ephemeral_messages(self, channel: str | None = None) -> list[Message]:
        with self.store.lock:
            found = [
                m for m in self.store.messages.values() if m.ephemeral_to and (channel is None or m.channel == channel)
            ]
            return copy.deepcopy(found)

    @property
    def views(self) -> list[View]:
        with self.store.lock:
            return copy.deepcopy(list(self.store.views.values()))

    # -- request handling (called from server threads) -------------------------------------------------
    def handle_api(
        self, method: str, params: dict[str, Any], token: str | None, basic_auth: tuple[str, str] | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """One Web API call after faults: (HTTP status, JSON body, extra headers)."""
        channel = params.get("channel")
        channel = str(channel) if channel else None
        headers: dict[str, str] = {}
        if method == "chat.postMessage" and channel:
            retry_after = self.faults.channel_retry_after(channel)
            if retry_after is not None:
                status, body = 429, {"ok": False, "error": "ratelimited"}
                headers["Retry-After"] = str(retry_after)
                self.record(method, params, channel, status, "ratelimited")
                return status, body, headers
        with self.store.lock:
            try:
                if method == "oauth.v2.access":
                    result = oauth_v2_access(self.store, self, params, basic_auth)
                else:
                    call = Call(params=params, token=None, team=None)
                    if method not in self.api.tokenless:
                        call.token = authenticate(self.store, token, time.time())
                        call.team = self.store.teams[call.token.team_id]
                    result = self.api.dispatch(method, call)
                status, body = 200, {"ok": True, **result}
            except ApiError as exc:
                status, body = exc.status, {"ok": False, "error": exc.code, **exc.extra}
            self.record(method, params, channel, status, None if body["ok"] else body["error"])
        return status, body, headers

    def handle_response_url(self, url_id: str, payload: dict[str, Any]) -> tuple[int, str]:
        with self.store.lock:
            entry = self.store.response_urls.get(url_id)
            channel = entry.channel if entry else None
            status, text = self._apply_response_url(entry, payload)
            self.record("response_url", payload, channel, status, None if status == 200 else text)
            return status, text

    def _apply_response_url(self, entry: Any, payload: dict[str, Any]) -> tuple[int, str]:
        if entry is None:
            return 404, "invalid_url"
        if time.time() >= entry.expires_at:
            return 404, "expired_url"
        if entry.uses >= 5:
            return 404, "used_url"
        entry.uses += 1
        message = self.store.messages.get((entry.channel, entry.message_ts))
        if payload.get("delete_original"):
            if message is None:
                return 404, "message_not_found"
            message.deleted = True
            return 200, "ok"
        text = payload.get("text")
        try:
            blocks = parse_blocks(payload.get("blocks"))
            validate_message(None if text is None else str(text), blocks)
        except PayloadError as exc:
            return 400, exc.code
        team = self.store.teams[entry.team_id]
        if payload.get("replace_original"):
            if message is None:
                return 404, "message_not_found"
            message.text = str(text or "")
            message.blocks = blocks or []
            message.edited = {"user": team.bot_user_id, "ts": self.store.next_ts()}
            return 200, "ok"
        ephemeral_to = None if payload.get("response_type") == "in_channel" else entry.user_id
        ts = self.store.next_ts()
        self.store.messages[(entry.channel, ts)] = Message(
            entry.channel, ts, str(text or ""), blocks or [], team.bot_user_id, team.bot_id, team.id,
            thread_ts=payload.get("thread_ts"), ephemeral_to=ephemeral_to,
        )  # fmt: skip
        return 200, "ok"

    def record(
        self, method: str, params: dict[str, Any], channel: str | None, status: int | None, error: str | None
    ) -> None:
        call = RecordedCall(method, copy.deepcopy(redact_params(params)), channel, time.time(), status, error)
        with self.store.lock:
            self.store.calls.append(call)


# -- HTTP ----------------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server_version = "SlackStandIn/1.0"

    @property
    def standin(self) -> SlackStandIn:
        return self.server.standin  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        # The request line may carry ?token=...; log the path only.
        logger.debug("%s %s", self.command, urlsplit(self.path).path)

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        try:
            if path.startswith("/api/"):
                self._api(path.removeprefix("/api/"), parts.query)
            elif path == AUTHORIZE_PATH:
                self._authorize(parts.query)
            elif path.startswith("/response_url/") and self.command == "POST":
                self._response_url(path.removeprefix("/response_url/"))
            else:
                self._ui(path, parts.query)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("client went away during %s", path)

    # -- pieces ----------------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY_BYTES)) if length > 0 else b""

    def _params(self, query: str, body: bytes) -> dict[str, Any]:
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        content_type = (self.headers.get("Content-Type") or "").lower()
        if not body:
            return params
        if "application/json" in content_type:
            try:
                parsed = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                parsed = None
            if isinstance(parsed, dict):
                params.update(parsed)
        elif "multipart/form-data" in content_type:
            params.update(_parse_multipart(content_type, body))
        else:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return params

    def _credentials(self, params: dict[str, Any]) -> tuple[str | None, tuple[str, str] | None]:
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        token = params.pop("token", None)
        basic = None
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
        elif scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
                basic = (client_id, secret)
            except (binascii.Error, UnicodeDecodeError):
                basic = ("", "")
        if token:
            # Kept so recorded calls show which token was used (as a fingerprint, see redact_params).
            params["token"] = str(token)
        return (str(token) if token else None), basic

    def _api(self, method: str, query: str) -> None:
        standin = self.standin
        params = self._params(query, self._read_body())
        token, basic = self._credentials(params)
        channel = str(params["channel"]) if params.get("channel") else None
        delay = standin.faults.latency_for(method)
        if delay > 0:
            _wall_clock_sleep(delay)
        fault = standin.faults.take_fault(method, channel)
        if fault is not None and fault.after_processing:
            # Slack did it (the message exists); the answer says otherwise, or comes too late, or never.
            standin.handle_api(method, params, token, basic)
            if fault.delay:
                _wall_clock_sleep(fault.delay)
                self._send_json(200, {"ok": True, "late": True}, {})
                return
        if fault is not None:
            if fault.close_connection:
                standin.record(method, params, channel, None, "connection_reset")
                self._reset_connection()
                return
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            standin.record(method, params, channel, fault.status, fault.error)
            self._send_json(fault.status, {"ok": False, "error": fault.error}, headers)
            return
        status, body, headers = standin.handle_api(method, params, token, basic)
        self._send_json(status, body, headers)

    def _authorize(self, query: str) -> None:
        standin = self.standin
        if self.command == "GET":
            with standin.store.lock:
                status, html = authorize_page(standin.store, standin, dict(parse_qsl(query)))
            self._send(status, html.encode(), "text/html; charset=utf-8")
            return
        form = dict(parse_qsl(self._read_body().decode("utf-8", "replace"), keep_blank_values=True))
        with standin.store.lock:
            status, location, html = authorize_decision(standin.store, standin, form)
        if status == 302:
            self._send(302, b"", "text/plain", {"Location": location})
        else:
            self._send(status, html.encode(), "text/html; charset=utf-8")

    def _response_url(self, url_id: str) -> None:
        body = self._read_body()
        try:
            payload = json.loads(body) if body else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            self._send(400, b"invalid_payload", "text/plain")
            return
        status, text = self.standin.handle_response_url(url_id, payload)
        self._send(status, text.encode(), "text/html")

    def _ui(self, path: str, query: str) -> None:
        from localdev import slack_standin_ui as ui

        standin = self.standin
        args = dict(parse_qsl(query))
        as_user = args.get("as") or INSTALLER_USER_ID
        notice = ui.flash(args.get("kind"), args.get("notice"))
        if self.command == "POST" and path in ("/_ui/click", "/_ui/submit", "/_ui/close"):
            form = parse_qs(self._read_body().decode("utf-8", "replace"), keep_blank_values=True)
            self._redirect(self._ui_action(path, form))
            return
        with standin.store.lock:
            store = standin.store
            if path == "/":
                team = store.teams.get(args.get("team") or DEFAULT_TEAM_ID) or store.teams[DEFAULT_TEAM_ID]
                note = "" if standin.interactivity_url else "Buttons are inert: no interactivity URL is set."
                self._send_html(200, ui.index_page(store, team, as_user, standin.base_url, note))
                return
            if path.startswith("/channels/"):
                channel = store.channels.get(path.removeprefix("/channels/"))
                if channel is not None:
                    views = [
                        v
                        for v in store.views.values()
                        if not v.closed and v.user_id == as_user and v.team_id == channel.team_id
                    ]
                    interactive = bool(standin.interactivity_url)
                    self._send_html(200, ui.channel_page(store, channel, as_user, interactive, views, notice))
                    return
            if path.startswith("/views/"):
                view = store.views.get(path.removeprefix("/views/"))
                if view is not None and not view.closed:
                    self._send_html(200, ui.view_page(store, view, as_user, notice))
                    return
                if view is not None:
                    self._redirect(_ui_location(view.origin_channel, as_user, "ok", "The modal is closed."))
                    return
        self._send(404, b"not found", "text/plain")

    def _ui_action(self, path: str, form: dict[str, list[str]]) -> str:
        """Carry out a browser form; answer where to go next."""
        standin = self.standin
        first = {k: v[0] for k, v in form.items() if v}
        as_user = first.get("as") or INSTALLER_USER_ID
        if path == "/_ui/click":
            channel = first.get("channel", "")
            try:
                result = standin.click(channel, first.get("ts", ""), first.get("action_id", ""), as_user,
                                       option=first.get("option") or None)
            except (LookupError, RuntimeError) as exc:
                return _ui_location(channel, as_user, "err", str(exc))
            if result.opened_view_id:
                return f"/views/{result.opened_view_id}?{urlencode({'as': as_user})}"
            return _ui_location(channel, as_user, *_outcome("Click", result))
        view_id = first.get("view_id", "")
        view = next((v for v in standin.views if v.id == view_id), None)
        origin = view.origin_channel if view else None
        if path == "/_ui/close":
            if view is not None:
                standin.close_view(view_id)
            return _ui_location(origin, as_user, "ok", "Modal cancelled.")
        values: dict[str, dict[str, Any]] = {}
        for name, entered in form.items():
            block_id, sep, action_id = name.partition("::")
            if sep:
                values.setdefault(block_id, {})[action_id] = entered if len(entered) > 1 else entered[0]
        try:
            result = standin.submit_view(view_id, values, as_user)
        except (LookupError, RuntimeError) as exc:
            return _ui_location(origin, as_user, "err", str(exc))
        still_open = any(v.id == view_id for v in standin.open_views())
        if still_open:
            return f"/views/{view_id}?{urlencode({'as': as_user, 'kind': _outcome('Submit', result)[0]})}"
        return _ui_location(origin, as_user, *_outcome("Submit", result))

    def _redirect(self, location: str) -> None:
        self._send(303, b"", "text/plain", {"Location": location})

    def _send_html(self, status: int, page: str) -> None:
        self._send(status, page.encode(), "text/html; charset=utf-8")

    # -- output ----------------------------------------------------------------------------------------
    def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _reset_connection(self) -> None:
        """Drop the connection with a TCP RST, which the client sees as `Connection reset by peer`."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


def _ui_location(channel: str | None, as_user: str, kind: str, notice: str) -> str:
    query = urlencode({"as": as_user, "kind": kind, "notice": notice})
    return f"/channels/{channel}?{query}" if channel else f"/?{query}"


def _outcome(what: str, result: InteractionResult) -> tuple[str, str]:
    if result.status == 200:
        return "ok", f"{what} delivered; the app answered 200."
    detail = result.body[:300]
    return "err", f"{what} failed: the app answered {result.status or 'nothing'}. {detail}"


def _parse_multipart(content_type: str, body: bytes) -> dict[str, str]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name and part.get_filename() is None:
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Run the Slack stand-in on loopback.")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--interactivity-url", default=None)
    parser.add_argument("--token-rotation", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    standin = SlackStandIn(port=args.port, interactivity_url=args.interactivity_url, token_rotation=args.token_rotation)
    with standin:
        print(f"Slack stand-in: {standin.base_url}  (API {standin.api_url})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
