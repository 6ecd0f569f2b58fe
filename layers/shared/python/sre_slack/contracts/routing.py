"""The tenant's routing document (CONTRACT.md "Routing document"), validated strictly at the boundary.

The portal PUTs it, we store it under `CONFIG#ROUTING` and the resolver (`sre_slack.domain.routing`) reads it.
Anything the portal sends that we would not act on exactly as written is rejected rather than guessed at:

- Unknown fields are errors (`extra="forbid"`), at the top level and inside routes; types are strict (no
  coercion of numbers to strings).
- Channel ids are Slack conversation ids we can post to: `C…` (channels, public and private) or `G…` (older
  private channels and group DMs), followed by uppercase letters and digits. `D…` (a bot's direct message)
  is refused: routing sends team alerts to channels, and the portal only offers channels. Slack's ids are
  9–11 characters today and growing, and the contract's own example uses short placeholders (`C0PROD`), so
  the length is only bounded loosely (at most 20); the prefix and the alphabet are what tell an id from a
  channel name.
- A route names exactly one of `cluster` or `workspace`. Neither is an error (CONTRACT). Both is also an
  error: the contract has two precedence levels, cluster routes beat workspace routes, and a route with both
  would need a third meaning ("this cluster, but only in this workspace") that nothing else relies on. A
  cluster route already says all there is to say about that cluster.
- `severities`, where given, must be a non-empty list: an empty list would be a route that never matches,
  which is a mistake, not a wish. Omit the field (or send null) to match every severity.
- Duplicates inside any channel list (and inside `severities`) are removed, keeping the first occurrence, so
  a channel never gets the same message twice.
- Size caps keep a document inside one DynamoDB item (400 KB) and the fan-out of one investigation inside
  Slack's posting budget (about one message per second per channel): at most 200 routes and 20 channels per
  list.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

Severity = Literal["critical", "warning", "info"]
_T = TypeVar("_T")

MAX_ROUTES = 200
MAX_CHANNELS_PER_LIST = 20
MAX_CHANNEL_ID_LENGTH = 20
MAX_NAME_LENGTH = 256
# How many errors the human message spells out; `details` carries up to MAX_ERROR_DETAILS.
MAX_ERRORS_IN_MESSAGE = 5
MAX_ERROR_DETAILS = 50

_POSTABLE_PREFIXES = ("C", "G")
_ID_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _check_channel_id(value: str) -> str:
    # The value is never echoed in the error: a mis-pasted secret must not come back in a response or log.
    if not value:
        raise PydanticCustomError("channel_id_empty", "channel id must not be empty")
    if value.startswith("#"):
        raise PydanticCustomError(
            "channel_id_name", "use the channel id (e.g. C0123ABCD), not the channel name"
        )
    if value.startswith("D"):
        raise PydanticCustomError(
            "channel_id_dm", "direct message ids (D…) cannot be routed to; use a channel id (C… or G…)"
        )
    if (
        value[0] not in _POSTABLE_PREFIXES
        or len(value) < 2
        or len(value) > MAX_CHANNEL_ID_LENGTH
        or not _ID_ALPHABET.issuperset(value)
    ):
        raise PydanticCustomError(
            "channel_id_format",
            "not a Slack channel id: expected C or G followed by uppercase letters and digits "
            "(at most {max_length} characters), e.g. C0123ABCD",
            {"max_length": MAX_CHANNEL_ID_LENGTH},
        )
    return value


def _check_name(value: str) -> str:
    if not value:
        raise PydanticCustomError("name_empty", "must not be empty")
    if value != value.strip():
        # A stray space would make the route silently never match the cluster/workspace the engine reports.
        raise PydanticCustomError("name_whitespace", "must not start or end with whitespace")
    return value


def _dedupe(values: list[_T]) -> list[_T]:
    return list(dict.fromkeys(values))


def _route_channels_not_empty(channels: list[str]) -> list[str]:
    if not channels:
        raise PydanticCustomError("route_channels_empty", "a route needs at least one channel")
    return channels


def _severities_not_empty(severities: list[str]) -> list[str]:
    if not severities:
        raise PydanticCustomError(
            "severities_empty", "must list at least one severity; omit `severities` to match every severity"
        )
    return _dedupe(severities)


# WithJsonSchema: what the validators check, said in the published JSON Schema (docs/contract/).
CHANNEL_ID_PATTERN = f"^[CG][A-Z0-9]{{1,{MAX_CHANNEL_ID_LENGTH - 1}}}$"
NAME_PATTERN = r"^\S(?:[\s\S]*\S)?$"  # no whitespace at either end
ChannelId = Annotated[str, AfterValidator(_check_channel_id),
                      WithJsonSchema({"type": "string", "pattern": CHANNEL_ID_PATTERN})]
ChannelList = Annotated[list[ChannelId], Field(max_length=MAX_CHANNELS_PER_LIST), AfterValidator(_dedupe)]
SeverityList = Annotated[list[Severity], Field(max_length=10), AfterValidator(_severities_not_empty)]
RouteName = Annotated[str, Field(max_length=MAX_NAME_LENGTH), AfterValidator(_check_name),
                      WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH,
                                      "pattern": NAME_PATTERN})]

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

DEFAULT_WINDOW_MINUTES = 10
MAX_WINDOW_MINUTES = 240


class Grouping(BaseModel):
    """Alert grouping (storms) switched on, with its window (CONTRACT.md "Alert grouping")."""

    model_config = _STRICT

    window_minutes: Annotated[int, Field(ge=1, le=MAX_WINDOW_MINUTES)] = DEFAULT_WINDOW_MINUTES


# Exactly one of `cluster` and `workspace`, as _exactly_one_target checks it.
_ONE_TARGET = {"oneOf": [{"required": [name], "properties": {name: {"type": "string"}}}
                         for name in ("cluster", "workspace")]}


class Route(BaseModel):
    """One route: the investigations of a cluster, or of a workspace, go to these channels."""

    model_config = ConfigDict(**_STRICT, json_schema_extra=_ONE_TARGET)

    cluster: RouteName | None = None
    workspace: RouteName | None = None
    # minItems only in the schema: the validators' own messages say it better than pydantic's too_short.
    channels: Annotated[ChannelList, AfterValidator(_route_channels_not_empty)] = Field(
        json_schema_extra={"minItems": 1})
    severities: SeverityList | None = Field(None, json_schema_extra={"minItems": 1})
    # Only `false` means something on a route: its channels get every alert alone (no storm threads).
    grouping: Literal[False] | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Route:
        if self.cluster is None and self.workspace is None:
            raise PydanticCustomError("route_target_missing", "a route needs either `cluster` or `workspace`")
        if self.cluster is not None and self.workspace is not None:
            raise PydanticCustomError(
                "route_target_ambiguous",
                "a route takes either `cluster` or `workspace`, not both: cluster routes already take "
                "precedence over workspace routes",
            )
        return self

    def matches_severity(self, severity: str) -> bool:
        return self.severities is None or severity in self.severities


class RoutingDocument(BaseModel):
    """Where a tenant's investigations and digests are posted."""

    model_config = _STRICT

    default_channels: ChannelList = []
    digest_channels: ChannelList = []
    routes: Annotated[list[Route], Field(max_length=MAX_ROUTES)] = []
    # Absent: grouping on with the default window; `false`: every alert is posted alone.
    grouping: Grouping | Literal[False] | None = None

    @property
    def window_minutes(self) -> int | None:
        """The grouping window of the document, or None when grouping is switched off."""
        if self.grouping is False:
            return None
        return (self.grouping or Grouping()).window_minutes

    def to_json_dict(self) -> dict[str, Any]:
        """The document as JSON data, for storage and GET: absent optional route fields stay absent."""
        return self.model_dump(mode="json", exclude_none=True)


def all_channels(doc: RoutingDocument) -> set[str]:
    """Every channel id the document mentions, e.g. to check them against the workspace's channel list."""
    channels = set(doc.default_channels) | set(doc.digest_channels)
    for route in doc.routes:
        channels.update(route.channels)
    return channels


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _readable(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "document"
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_MESSAGES_BY_TYPE = {
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "too_long": "at most {max_length} entries allowed, got {actual_length}",
}


def _message(error: Any) -> str:
    template = _MESSAGES_BY_TYPE.get(error["type"])
    if template is None:
        return str(error["msg"])
    try:
        return template.format(**error.get("ctx", {}))
    except (KeyError, IndexError):
        return str(error["msg"])


def problems_message(readable: list[str]) -> str:
    """The human message of a refused document: the first few problems, and how many more there are."""
    summary = "; ".join(readable[:MAX_ERRORS_IN_MESSAGE])
    if len(readable) > MAX_ERRORS_IN_MESSAGE:
        summary += f" (and {len(readable) - MAX_ERRORS_IN_MESSAGE} more)"
    return f"invalid routing document: {summary}"


def validation_error_body(exc: ValidationError) -> dict[str, Any]:
    """The 400 body for an invalid routing document: every message names the field it is about.

    `field` is the dotted path (`routes.1.channels.0`); `message` reads `routes[1].channels[0]: ...`. The
    offending input values are deliberately left out (see `_check_channel_id`).
    """
    details: list[dict[str, str]] = []
    readable: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        message = _message(error)
        details.append({"field": _dotted(loc), "message": message})
        readable.append(f"{_readable(loc)}: {message}")
    return {
        "error": "invalid_routing",
        "message": problems_message(readable),
        "details": details[:MAX_ERROR_DETAILS],
    }
