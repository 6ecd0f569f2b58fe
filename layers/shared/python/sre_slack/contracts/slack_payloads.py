"""What Slack sends us: interactivity payloads (block_actions, view_submission, view_closed) and Events API
envelopes. Only the fields we use are declared; everything else Slack adds is ignored, so a new field in
Slack's payloads never breaks a click.

Parsing happens after the signature check; a payload that does not fit is a 400, never a 500.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class InvalidPayload(Exception):
    """The signed body is not a payload we understand (Slack would never send it): answer 400."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class SlackTeam(_Model):
    id: str
    domain: str | None = None


class SlackUser(_Model):
    id: str
    username: str | None = None
    name: str | None = None
    team_id: str | None = None


class SlackChannel(_Model):
    id: str
    name: str | None = None


class Container(_Model):
    type: str | None = None
    message_ts: str | None = None
    channel_id: str | None = None


class SelectedOption(_Model):
    value: str


class Action(_Model):
    action_id: str
    block_id: str | None = None
    type: str | None = None
    value: str | None = None
    # An overflow menu (or a select) reports the option chosen instead of a value.
    selected_option: SelectedOption | None = None
    action_ts: str | None = None


class PayloadMessage(_Model):
    """The message the button sits in, as it stands now (Slack sends its current blocks)."""

    ts: str | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = Field(default_factory=list)


class BlockActions(_Model):
    type: Literal["block_actions"]
    team: SlackTeam
    user: SlackUser
    trigger_id: str | None = None
    response_url: str | None = None
    channel: SlackChannel | None = None
    container: Container | None = None
    message: PayloadMessage | None = None
    actions: list[Action] = Field(default_factory=list)

    @property
    def channel_id(self) -> str | None:
        if self.channel is not None:
            return self.channel.id
        return self.container.channel_id if self.container else None

    @property
    def message_ts(self) -> str | None:
        if self.container is not None and self.container.message_ts:
            return self.container.message_ts
        return self.message.ts if self.message else None


class ViewState(_Model):
    values: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class View(_Model):
    id: str | None = None
    callback_id: str = ""
    private_metadata: str = ""
    state: ViewState = Field(default_factory=ViewState)


class ViewSubmission(_Model):
    type: Literal["view_submission"]
    team: SlackTeam
    user: SlackUser
    view: View


class ViewClosed(_Model):
    type: Literal["view_closed"]
    team: SlackTeam
    user: SlackUser
    view: View
    is_cleared: bool = False


class OtherInteraction(_Model):
    """Shortcuts, message actions, block_suggestion...: acknowledged, nothing else."""

    type: str


Interaction = Annotated[BlockActions | ViewSubmission | ViewClosed, Field(discriminator="type")]
_INTERACTION = TypeAdapter(Interaction, config=ConfigDict(defer_build=True))
_KNOWN_INTERACTIONS = frozenset({"block_actions", "view_submission", "view_closed"})


def parse_interaction(form_body: str) -> BlockActions | ViewSubmission | ViewClosed | OtherInteraction:
    """`payload=<json>` (form-encoded, as Slack posts interactivity) -> the typed payload."""
    fields = parse_qs(form_body, keep_blank_values=True)
    raw = fields.get("payload")
    if not raw or len(raw) != 1:
        raise InvalidPayload("the body has no single payload field")
    try:
        document = json.loads(raw[0])
    except ValueError as exc:
        raise InvalidPayload("payload is not valid JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise InvalidPayload("payload is not an object with a type")
    try:
        if document["type"] not in _KNOWN_INTERACTIONS:
            return OtherInteraction.model_validate(document)
        return _INTERACTION.validate_python(document)
    except ValidationError as exc:
        raise InvalidPayload(f"payload does not fit {document['type']}: {exc.error_count()} problem(s)") from exc


# --- Events API ------------------------------------------------------------------------------------------


class UrlVerification(_Model):
    type: Literal["url_verification"]
    challenge: str


class TokensRevokedTokens(_Model):
    oauth: list[str] = Field(default_factory=list)
    bot: list[str] = Field(default_factory=list)


class InnerEvent(_Model):
    type: str
    # channel_archive / channel_deleted / group_*: the channel id is a plain string.
    channel: str | dict[str, Any] | None = None
    tokens: TokensRevokedTokens | None = None

    @property
    def channel_id(self) -> str | None:
        if isinstance(self.channel, str):
            return self.channel
        if isinstance(self.channel, dict) and isinstance(self.channel.get("id"), str):
            return self.channel["id"]
        return None


class EventCallback(_Model):
    type: Literal["event_callback"]
    team_id: str | None = None
    api_app_id: str | None = None
    event_id: str | None = None
    event: InnerEvent


class OtherEnvelope(_Model):
    type: str


Envelope = Annotated[UrlVerification | EventCallback, Field(discriminator="type")]
_ENVELOPE = TypeAdapter(Envelope, config=ConfigDict(defer_build=True))


def parse_event_envelope(json_body: str) -> UrlVerification | EventCallback | OtherEnvelope:
    try:
        document = json.loads(json_body)
    except ValueError as exc:
        raise InvalidPayload("the body is not valid JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise InvalidPayload("the body is not an object with a type")
    try:
        if document["type"] not in ("url_verification", "event_callback"):
            return OtherEnvelope.model_validate(document)
        return _ENVELOPE.validate_python(document)
    except ValidationError as exc:
        raise InvalidPayload(f"event does not fit {document['type']}: {exc.error_count()} problem(s)") from exc
