"""In-memory state of the Slack stand-in: workspaces, channels, tokens, messages, views.

Every mutation goes through `Workspace` while its lock is held by the caller (`Workspace.lock`), so the
threaded HTTP server and the test thread see one consistent state.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TEAM_ID = "T0LOCAL"
DEFAULT_TEAM_NAME = "Local Dev Workspace"
APP_ID = "A0LOCAL"
APP_NAME = "AI SRE (local)"
DEFAULT_BOT_USER_ID = "U0BOT"
DEFAULT_BOT_ID = "B0BOT"
INSTALLER_USER_ID = "U0ALICE"

# What the app's manifest asks for; tests narrow it to provoke missing_scope.
DEFAULT_SCOPES: tuple[str, ...] = (
    "channels:read",
    "groups:read",
    "channels:join",
    "chat:write",
    "chat:write.public",
    "commands",
)

ROTATED_TOKEN_LIFETIME_S = 43_200
CODE_LIFETIME_S = 600
TRIGGER_LIFETIME_S = 3.0
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_LIFETIME_S = 1_800
# The first message gets "1700000000.000100"; later ones count up from there.
_TS_BASE_SECONDS = 1_700_000_000


def fingerprint(secret: str) -> str:
    """A short, stable stand-in for a secret, safe for logs and recorded calls."""
    return "fp:" + hashlib.sha256(secret.encode()).hexdigest()[:10]


@dataclass
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False


@dataclass
class Team:
    id: str
    name: str
    domain: str
    bot_user_id: str
    bot_id: str


@dataclass
class Channel:
    id: str
    name: str
    team_id: str
    is_private: bool = False
    is_archived: bool = False
    bot_member: bool = False
    created: int = 1_600_000_000

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_member": self.bot_member,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "context_team_id": self.team_id,
            "created": self.created,
            "creator": INSTALLER_USER_ID,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass
class Token:
    value: str
    team_id: str
    scopes: frozenset[str]
    issued_at: float
    expires_at: float | None = None
    revoked: bool = False
    refresh_token: str | None = None


@dataclass
class RefreshToken:
    value: str
    team_id: str
    scopes: frozenset[str]
    valid: bool = True


@dataclass
class AuthCode:
    value: str
    client_id: str
    redirect_uri: str | None
    team_id: str
    scopes: frozenset[str]
    expires_at: float
    used: bool = False


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    bot_id: str | None
    team_id: str
    thread_ts: str | None = None
    # A thread reply also shown in the channel (chat.postMessage `reply_broadcast`).
    reply_broadcast: bool = False
    edited: dict[str, str] | None = None
    ephemeral_to: str | None = None
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "message", "text": self.text, "user": self.user, "ts": self.ts}
        body["team"] = self.team_id
        if self.bot_id:
            body["bot_id"] = self.bot_id
            body["app_id"] = APP_ID
        if self.blocks:
            body["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
            if self.reply_broadcast:
                body["subtype"] = "thread_broadcast"
        if self.edited:
            body["edited"] = dict(self.edited)
        return body


@dataclass
class View:
    id: str
    team_id: str
    user_id: str
    definition: dict[str, Any]
    hash: str
    external_id: str | None = None
    closed: bool = False
    origin_channel: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        body = copy.deepcopy(self.definition)
        body.setdefault("private_metadata", "")
        body.setdefault("callback_id", "")
        body.update(
            {
                "id": self.id,
                "team_id": self.team_id,
                "state": {"values": {}},
                "hash": self.hash,
                "app_id": APP_ID,
                "bot_id": DEFAULT_BOT_ID,
                "root_view_id": self.id,
                "previous_view_id": None,
                "external_id": self.external_id or "",
            }
        )
        return body


@dataclass
class Trigger:
    value: str
    team_id: str
    user_id: str
    expires_at: float
    used: bool = False
    view_id: str | None = None
    channel: str | None = None


@dataclass
class ResponseUrl:
    id: str
    team_id: str
    channel: str
    message_ts: str
    expires_at: float
    user_id: str = INSTALLER_USER_ID
    uses: int = 0


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call as the stand-in saw it. Secrets in `params` are replaced by fingerprints."""

    method: str
    params: dict[str, Any]
    channel: str | None
    timestamp: float
    http_status: int | None
    error: str | None = None


SECRET_PARAMS = frozenset({"token", "client_secret", "refresh_token", "code"})


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (fingerprint(str(v)) if k in SECRET_PARAMS and v else v) for k, v in params.items()}


class Workspace:
    """All mutable state of the stand-in. Callers hold `lock` around every read-modify-write."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to the seeded workspace: what a fresh stand-in holds."""
        self.teams: dict[str, Team] = {}
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.messages: dict[tuple[str, str], Message] = {}
        self.views: dict[str, View] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.calls: list[RecordedCall] = []
        self._ts_counter = 0
        self._view_counter = 0
        self.seed()

    # -- seeding ---------------------------------------------------------------------------------------
    def seed(self) -> None:
        self.add_team(DEFAULT_TEAM_ID, DEFAULT_TEAM_NAME, bot_user_id=DEFAULT_BOT_USER_ID, bot_id=DEFAULT_BOT_ID)
        for user in (
            User("U0ALICE", "alice", "Alice Example"),
            User("U0BOB", "bob", "Bob Example"),
            User(DEFAULT_BOT_USER_ID, "ai-sre", "AI SRE", is_bot=True),
        ):
            self.users[user.id] = user
        for channel in (
            Channel("C0GENERAL", "general", DEFAULT_TEAM_ID),
            Channel("C0ALERTS", "alerts", DEFAULT_TEAM_ID, bot_member=True),
            Channel("C0INCIDENTS", "incidents", DEFAULT_TEAM_ID, bot_member=True),
            Channel("G0OPS", "ops-private", DEFAULT_TEAM_ID, is_private=True, bot_member=True),
            Channel("G0SECRET", "secret", DEFAULT_TEAM_ID, is_private=True),
            Channel("C0OLD", "old-alerts", DEFAULT_TEAM_ID, is_archived=True),
        ):
            self.channels[channel.id] = channel

    def add_team(self, team_id: str, name: str, *, bot_user_id: str | None = None, bot_id: str | None = None) -> Team:
        suffix = team_id[1:] if team_id.startswith("T") else team_id
        domain = "".join(ch for ch in name.lower().replace(" ", "-") if ch.isalnum() or ch == "-") or suffix
        team = Team(
            id=team_id,
            name=name,
            domain=domain,
            bot_user_id=bot_user_id or f"U{suffix}BOT",
            bot_id=bot_id or f"B{suffix}BOT",
        )
        self.teams[team_id] = team
        return team

    # -- ids -------------------------------------------------------------------------------------------
    def next_ts(self) -> str:
        self._ts_counter += 1
        n = self._ts_counter
        return f"{_TS_BASE_SECONDS + n // 10_000}.{(n % 10_000) * 100:06d}"

    def next_view_id(self) -> str:
        self._view_counter += 1
        return f"V0LOCAL{self._view_counter:04d}"

    # -- tokens ----------------------------------------------------------------------------------------
    def issue_token(
        self, team_id: str, scopes: frozenset[str], *, rotation: bool, lifetime_s: float
    ) -> tuple[Token, RefreshToken | None]:
        now = time.time()
        if rotation:
            value = "xoxe.xoxb-1-" + secrets.token_urlsafe(24)
            refresh = RefreshToken("xoxe-1-" + secrets.token_urlsafe(32), team_id, scopes)
            self.refresh_tokens[refresh.value] = refresh
            token = Token(value, team_id, scopes, now, expires_at=now + lifetime_s, refresh_token=refresh.value)
        else:
            value = f"xoxb-{team_id}-" + secrets.token_urlsafe(24)
            refresh = None
            token = Token(value, team_id, scopes, now)
        self.tokens[token.value] = token
        return token, refresh

    def team_channels(self, team_id: str) -> list[Channel]:
        return [c for c in self.channels.values() if c.team_id == team_id]

    def find_channel(self, team_id: str, ref: str) -> Channel | None:
        """A channel of this team by id, or by name (`#alerts` / `alerts`) as Slack also accepts."""
        channel = self.channels.get(ref)
        if channel is not None:
            return channel if channel.team_id == team_id else None
        name = ref.removeprefix("#")
        return next((c for c in self.team_channels(team_id) if c.name == name), None)

    def channel_messages(self, channel: str | None) -> list[Message]:
        found = [
            m
            for m in self.messages.values()
            if not m.deleted and m.ephemeral_to is None and (channel is None or m.channel == channel)
        ]
        return sorted(found, key=lambda m: (m.channel, float(m.ts)))

    def thread_replies(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies in a message's thread, oldest first (what conversations.replies lists after the parent)."""
        return [m for m in self.channel_messages(channel) if m.thread_ts == thread_ts and m.ts != thread_ts]
