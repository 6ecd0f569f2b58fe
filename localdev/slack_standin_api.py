"""Slack Web API methods of the stand-in, over `Workspace` state.

Each method takes the parsed parameters and the authenticated token and returns the JSON body; failures raise
`ApiError` carrying Slack's error code. HTTP concerns (parsing, faults, recording) live in slack_standin.py.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from localdev.slack_standin_blocks import PayloadError, parse_blocks, validate_blocks, validate_message
from localdev.slack_standin_state import (
    APP_ID,
    INSTALLER_USER_ID,
    RESPONSE_URL_LIFETIME_S,
    Channel,
    Message,
    ResponseUrl,
    Team,
    Token,
    Trigger,
    View,
    Workspace,
)
from sre_slack.blocks.limits import MAX_VIEW_BLOCKS


class ApiError(Exception):
    def __init__(self, code: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.extra = extra


class StandInSettings(Protocol):
    """What the methods read from the stand-in's configuration (it may change between calls)."""

    client_id: str
    client_secret: str
    token_rotation: bool
    expires_in: int
    trigger_lifetime: float

    @property
    def base_url(self) -> str: ...


@dataclass
class Call:
    params: dict[str, Any]
    token: Token | None
    team: Team | None
    basic_auth: tuple[str, str] | None = None


def truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


def authenticate(store: Workspace, raw_token: str | None, now: float) -> Token:
    if not raw_token:
        raise ApiError("not_authed")
    token = store.tokens.get(raw_token)
    if token is None:
        raise ApiError("invalid_auth")
    if token.revoked:
        raise ApiError("token_revoked")
    if token.expires_at is not None and now >= token.expires_at:
        raise ApiError("token_expired")
    return token


def require_scope(token: Token, *needed: str) -> None:
    missing = [s for s in needed if s not in token.scopes]
    if missing:
        raise ApiError("missing_scope", needed=",".join(missing), provided=",".join(sorted(token.scopes)))


def _required(params: dict[str, Any], name: str, code: str = "invalid_arguments") -> str:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(code)
    return str(value)


class WebApi:
    def __init__(self, store: Workspace, settings: StandInSettings) -> None:
        self.store = store
        self.settings = settings
        self.methods: dict[str, Callable[[Call], dict[str, Any]]] = {
            "api.test": self.api_test,
            "auth.test": self.auth_test,
            "auth.revoke": self.auth_revoke,
            "conversations.list": self.conversations_list,
            "conversations.info": self.conversations_info,
            "conversations.join": self.conversations_join,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "views.open": self.views_open,
            "views.update": self.views_update,
        }
        # Methods that authenticate with client credentials (or nothing) instead of a token.
        self.tokenless = {"api.test"}

    def dispatch(self, method: str, call: Call) -> dict[str, Any]:
        handler = self.methods.get(method)
        if handler is None:
            raise ApiError("unknown_method", status=404, req_method=method)
        return handler(call)

    # -- auth ------------------------------------------------------------------------------------------
    def api_test(self, call: Call) -> dict[str, Any]:
        return {"args": {k: v for k, v in call.params.items() if k != "token"}}

    def auth_test(self, call: Call) -> dict[str, Any]:
        team = self._team(call)
        return {
            "url": self.settings.base_url,
            "team": team.name,
            "user": "ai-sre",
            "team_id": team.id,
            "user_id": team.bot_user_id,
            "bot_id": team.bot_id,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }

    def auth_revoke(self, call: Call) -> dict[str, Any]:
        assert call.token is not None
        if truthy(call.params.get("test")):
            return {"revoked": False}
        self.revoke(call.token.value)
        return {"revoked": True}

    def revoke(self, raw_token: str) -> bool:
        token = self.store.tokens.get(raw_token)
        if token is None:
            return False
        token.revoked = True
        if token.refresh_token and token.refresh_token in self.store.refresh_tokens:
            self.store.refresh_tokens[token.refresh_token].valid = False
        return True

    # -- conversations ---------------------------------------------------------------------------------
    def _team(self, call: Call) -> Team:
        assert call.team is not None
        return call.team

    def _visible(self, call: Call, channel: Channel) -> bool:
        """A bot sees public channels and the private ones it is a member of."""
        return not channel.is_private or channel.bot_member

    def _channel(self, call: Call, name: str = "channel") -> Channel:
        ref = call.params.get(name)
        if not ref:
            raise ApiError("channel_not_found")
        channel = self.store.find_channel(self._team(call).id, str(ref))
        if channel is None or not self._visible(call, channel):
            raise ApiError("channel_not_found")
        return channel

    def _require_read_scope(self, token: Token, channel: Channel) -> None:
        require_scope(token, "groups:read" if channel.is_private else "channels:read")

    def conversations_list(self, call: Call) -> dict[str, Any]:
        assert call.token is not None
        types = {t.strip() for t in str(call.params.get("types") or "public_channel").split(",") if t.strip()}
        if not types <= {"public_channel", "private_channel", "im", "mpim"}:
            raise ApiError("invalid_types")
        if "public_channel" in types:
            require_scope(call.token, "channels:read")
        if "private_channel" in types:
            require_scope(call.token, "groups:read")
        exclude_archived = truthy(call.params.get("exclude_archived"))
        limit = _int_param(call.params.get("limit"), default=100)
        limit = 100 if limit <= 0 else min(limit, 1000)
        offset = _decode_cursor(call.params.get("cursor"))
        matching = [
            c
            for c in self.store.team_channels(self._team(call).id)
            if self._visible(call, c)
            and (("private_channel" if c.is_private else "public_channel") in types)
            and not (exclude_archived and c.is_archived)
        ]
        page = matching[offset : offset + limit]
        next_offset = offset + limit
        next_cursor = _encode_cursor(next_offset) if next_offset < len(matching) else ""
        return {"channels": [c.to_api() for c in page], "response_metadata": {"next_cursor": next_cursor}}

    def conversations_info(self, call: Call) -> dict[str, Any]:
        assert call.token is not None
        channel = self._channel(call)
        self._require_read_scope(call.token, channel)
        return {"channel": channel.to_api()}

    def conversations_join(self, call: Call) -> dict[str, Any]:
        assert call.token is not None
        require_scope(call.token, "channels:join")
        channel = self._channel(call)
        if channel.is_private:
            raise ApiError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise ApiError("is_archived")
        body: dict[str, Any] = {}
        if channel.bot_member:
            body = {
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        channel.bot_member = True
        return {"channel": channel.to_api(), **body}

    # -- chat ------------------------------------------------------------------------------------------
    def _postable_channel(self, call: Call) -> Channel:
        assert call.token is not None
        require_scope(call.token, "chat:write")
        channel = self._channel(call)
        if channel.is_archived:
            raise ApiError("is_archived")
        if not channel.bot_member and "chat:write.public" not in call.token.scopes:
            raise ApiError("not_in_channel")
        return channel

    def _content(self, params: dict[str, Any], *, require_content: bool = True) -> tuple[str | None, Any]:
        text = params.get("text")
        text = None if text is None else str(text)
        try:
            blocks = parse_blocks(params.get("blocks"))
            validate_message(text, blocks, require_content=require_content)
        except PayloadError as exc:
            extra = {"errors": exc.errors} if exc.errors else {}
            raise ApiError(exc.code, **extra) from exc
        return text, blocks

    def chat_post_message(self, call: Call) -> dict[str, Any]:
        channel = self._postable_channel(call)
        text, blocks = self._content(call.params)
        team = self._team(call)
        thread_ts = call.params.get("thread_ts") or None
        parent = self.store.messages.get((channel.id, str(thread_ts))) if thread_ts else None
        if thread_ts and (parent is None or parent.deleted):
            raise ApiError("thread_not_found")
        message = Message(
            channel=channel.id,
            ts=self.store.next_ts(),
            text=text or "",
            blocks=blocks or [],
            user=team.bot_user_id,
            bot_id=team.bot_id,
            team_id=team.id,
            thread_ts=str(thread_ts) if thread_ts else None,
            reply_broadcast=bool(thread_ts) and truthy(call.params.get("reply_broadcast")),
        )
        self.store.messages[(channel.id, message.ts)] = message
        return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}

    def chat_update(self, call: Call) -> dict[str, Any]:
        assert call.token is not None
        require_scope(call.token, "chat:write")
        channel = self._channel(call)
        ts = _required(call.params, "ts", "message_not_found")
        message = self.store.messages.get((channel.id, ts))
        if message is None or message.deleted or message.ephemeral_to is not None:
            raise ApiError("message_not_found")
        team = self._team(call)
        if message.bot_id != team.bot_id:
            raise ApiError("cant_update_message")
        if channel.is_archived:
            raise ApiError("is_archived")
        has_blocks = "blocks" in call.params
        text, blocks = self._content(call.params, require_content=False)
        if text is None and not has_blocks:
            raise ApiError("no_text")
        if text is not None:
            message.text = text
        if has_blocks:
            # Slack keeps the old blocks when `blocks` is absent and clears them on an empty array.
            message.blocks = blocks or []
        message.edited = {"user": team.bot_user_id, "ts": self.store.next_ts()}
        return {"channel": channel.id, "ts": message.ts, "text": message.text, "message": message.to_api()}

    def chat_post_ephemeral(self, call: Call) -> dict[str, Any]:
        channel = self._postable_channel(call)
        user = _required(call.params, "user", "user_not_found")
        if user not in self.store.users:
            raise ApiError("user_not_found")
        text, blocks = self._content(call.params)
        team = self._team(call)
        message = Message(
            channel=channel.id,
            ts=self.store.next_ts(),
            text=text or "",
            blocks=blocks or [],
            user=team.bot_user_id,
            bot_id=team.bot_id,
            team_id=team.id,
            ephemeral_to=user,
        )
        self.store.messages[(channel.id, message.ts)] = message
        return {"message_ts": message.ts}

    # -- views -----------------------------------------------------------------------------------------
    def _view_definition(self, raw: Any) -> dict[str, Any]:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ApiError("invalid_arguments") from exc
        if not isinstance(raw, dict) or raw.get("type") not in ("modal", "home"):
            raise ApiError("invalid_arguments")
        blocks = raw.get("blocks")
        if not isinstance(blocks, list):
            raise ApiError("invalid_arguments")
        try:
            validate_blocks(blocks, max_blocks=MAX_VIEW_BLOCKS)
        except PayloadError as exc:
            raise ApiError(exc.code, errors=exc.errors) from exc
        return copy.deepcopy(raw)

    def views_open(self, call: Call) -> dict[str, Any]:
        trigger_id = _required(call.params, "trigger_id", "invalid_trigger_id")
        trigger = self.store.triggers.get(trigger_id)
        if trigger is None or trigger.team_id != self._team(call).id:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if time.time() >= trigger.expires_at:
            raise ApiError("expired_trigger_id")
        definition = self._view_definition(call.params.get("view"))
        trigger.used = True
        view = View(
            id=self.store.next_view_id(),
            team_id=trigger.team_id,
            user_id=trigger.user_id,
            definition=definition,
            hash=_view_hash(definition),
            external_id=definition.get("external_id") or None,
            origin_channel=trigger.channel,
        )
        self.store.views[view.id] = view
        trigger.view_id = view.id
        return {"view": view.to_api()}

    def views_update(self, call: Call) -> dict[str, Any]:
        view_id, external_id = call.params.get("view_id"), call.params.get("external_id")
        view = self.store.views.get(str(view_id)) if view_id else None
        if view is None and external_id:
            view = next((v for v in self.store.views.values() if v.external_id == external_id), None)
        if view is None or view.team_id != self._team(call).id:
            raise ApiError("not_found")
        expected_hash = call.params.get("hash")
        if expected_hash and expected_hash != view.hash:
            raise ApiError("hash_conflict")
        definition = self._view_definition(call.params.get("view"))
        view.definition = definition
        view.hash = _view_hash(definition)
        view.errors = {}
        return {"view": view.to_api()}

    # -- interactivity support (used by the UI and by tests) ------------------------------------------
    def issue_trigger(self, team_id: str, user_id: str = INSTALLER_USER_ID, channel: str | None = None) -> str:
        value = f"{int(time.time())}.{secrets.randbelow(10**12)}.{uuid.uuid4().hex}"
        expires_at = time.time() + self.settings.trigger_lifetime
        self.store.triggers[value] = Trigger(value, team_id, user_id, expires_at, channel=channel)
        return value

    def issue_response_url(self, team_id: str, channel: str, message_ts: str) -> ResponseUrl:
        url_id = uuid.uuid4().hex
        entry = ResponseUrl(url_id, team_id, channel, message_ts, time.time() + RESPONSE_URL_LIFETIME_S)
        self.store.response_urls[url_id] = entry
        return entry


def _view_hash(definition: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:12]
    return f"{int(time.time())}.{digest}"


def _int_param(value: Any, *, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError("invalid_arguments") from exc


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.b64decode(str(cursor), validate=True).decode().partition(":")
        if kind != "offset":
            raise ValueError(kind)
        return max(0, int(value))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ApiError("invalid_cursor") from exc
