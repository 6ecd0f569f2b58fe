"""The investigation queue's messages (CONTRACT.md "SQS message", version 1), validated at the boundary.

Two message types share the queue and are told apart by `type`: `investigation.completed` and
`alert.resolved`. `parse_investigation_message` is the one entry point; anything that does not match raises
`InvalidMessage`, whose text names every offending field (never its value) so the dead-letter log says why.

Choices the contract leaves open:

- Unknown fields are ignored, at every level. The engine owns this contract and may add fields before we use
  them; refusing them would send every alert to the dead-letter queue on the day they ship.
- Required fields are required and types are not coerced: a number where a string belongs is an error, as is
  a `version` other than the string "1" or a severity outside `critical | warning | info` (case included).
- `investigation_id` and `tenant_id` are 1–255 characters of `[A-Za-z0-9._:@+=-]`, starting with a letter
  or digit. They become DynamoDB keys (`TENANT#{tenant}#INV#{investigation}`, where a `#` would forge
  another key) and Slack button values, so they are held to a safe alphabet rather than escaped later.
- `cluster` and `alert.name` must not be blank; they head the message and drive routing. Their length is
  not capped here: the message builder truncates whatever it shows.
- `alert.summary` and `root_cause` must be present but may be empty: an alert whose analysis came back empty
  is still an alert someone must see, and the message says that nothing was reported.
- Timestamps are ISO 8601 strings (numbers are refused: epoch seconds vs. milliseconds is a guess). A time
  with an offset is converted to UTC; a time without one is read as UTC. ISO 8601 allows local times, so
  refusing them would reject a message the contract accepts, and the engine reports in UTC.
- Optional fields may also be sent as `null`; a `null` list or label map reads as empty, a `null` `test`
  as false.
- `portal_url` must be an absolute http(s) URL made only of URL characters (no spaces, quotes, `<`, `>` or
  `|`), so it can be a button's `url` and sit inside a mrkdwn link without breaking out of it.
- `alert.source_url` and `alert.runbook_url` are held to the same rule: they become links on the message.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

Severity = Literal["critical", "warning", "info"]

SAFE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,254}$"
MAX_ID_LENGTH = 255
MAX_PORTAL_URL_LENGTH = 3000  # a button's `url` limit
# How much of a failure the InvalidMessage text spells out; a log line, not a report.
MAX_REASONS = 10

_SAFE_ID = re.compile(SAFE_ID_PATTERN)
# RFC 3986 unreserved + reserved characters and "%" (percent-encoding).
_URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")


class InvalidMessage(ValueError):
    """The queue message does not match the contract. `str()` is a readable reason for the dead-letter log."""

    def __init__(self, reason: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields


def _check_safe_id(value: str) -> str:
    if not value:
        raise PydanticCustomError("id_empty", "must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise PydanticCustomError("id_too_long", "must be at most {max} characters", {"max": MAX_ID_LENGTH})
    if not _SAFE_ID.fullmatch(value):  # fullmatch: `$` alone would let a trailing newline through
        raise PydanticCustomError(
            "id_charset", "must start with a letter or digit and use only letters, digits and . _ : @ + = -"
        )
    return value


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value


def _require_iso_string(value: Any) -> Any:
    # Lax pydantic would read 1764230000 as epoch seconds; the contract says ISO 8601.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("iso_datetime_type", "must be an ISO 8601 date-time string")
    return value


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _check_portal_url(value: str) -> str:
    if len(value) > MAX_PORTAL_URL_LENGTH:
        raise PydanticCustomError("url_too_long", "must be at most {max} characters", {"max": MAX_PORTAL_URL_LENGTH})
    if not _URL_CHARS.match(value):
        raise PydanticCustomError("url_chars", "must be a URL without spaces, quotes, <, > or |")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError("url_scheme", "must be an absolute http or https URL")
    return value


def _none_to(default_factory: Any) -> BeforeValidator:
    return BeforeValidator(lambda value: default_factory() if value is None else value)


# The validators are code; WithJsonSchema says the same in the published JSON Schemas (docs/contract/).
SafeId = Annotated[StrictStr, AfterValidator(_check_safe_id),
                   WithJsonSchema({"type": "string", "pattern": SAFE_ID_PATTERN})]
NonBlank = Annotated[StrictStr, AfterValidator(_check_not_blank),
                     WithJsonSchema({"type": "string", "minLength": 1, "pattern": "\\S"})]
UtcDatetime = Annotated[datetime, BeforeValidator(_require_iso_string), AfterValidator(_to_utc),
                        WithJsonSchema({"type": "string", "format": "date-time",
                                        "description": "ISO 8601; without an offset it is read as UTC"})]
PortalUrl = Annotated[StrictStr, AfterValidator(_check_portal_url),
                      WithJsonSchema({"type": "string", "format": "uri", "maxLength": MAX_PORTAL_URL_LENGTH,
                                      "pattern": "^https?://[^\\s\"'<>|]+$"})]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class Alert(_Model):
    name: NonBlank
    severity: Severity
    namespace: StrictStr | None = None
    summary: StrictStr
    fired_at: UtcDatetime
    fingerprint: StrictStr | None = None
    labels: Annotated[dict[StrictStr, StrictStr], _none_to(dict)] = Field(default_factory=dict)
    # The alert in Alertmanager or Grafana, and its runbook: links on the message (http/https only).
    source_url: PortalUrl | None = None
    runbook_url: PortalUrl | None = None


class AffectedResource(_Model):
    kind: NonBlank
    namespace: StrictStr | None = None
    name: NonBlank
    status: StrictStr | None = None


class RecommendedAction(_Model):
    title: NonBlank
    command: StrictStr | None = None


class InvestigationCompleted(_Model):
    version: Literal["1"]
    type: Literal["investigation.completed"]
    investigation_id: SafeId
    tenant_id: SafeId
    cluster: NonBlank
    workspace: StrictStr | None = None
    alert: Alert
    root_cause: StrictStr
    confidence: StrictStr | None = None
    affected_resources: Annotated[list[AffectedResource], _none_to(list)] = Field(default_factory=list)
    recommended_actions: Annotated[list[RecommendedAction], _none_to(list)] = Field(default_factory=list)
    portal_url: PortalUrl | None = None
    test: Annotated[StrictBool, _none_to(lambda: False)] = False
    # Orders re-investigations (SQS keeps no order): the message shows the payload completed last.
    completed_at: UtcDatetime | None = None


class AlertResolved(_Model):
    version: Literal["1"]
    type: Literal["alert.resolved"]
    investigation_id: SafeId
    tenant_id: SafeId
    resolved_at: UtcDatetime


InvestigationMessage = Annotated[InvestigationCompleted | AlertResolved, Field(discriminator="type")]

_MESSAGE_ADAPTER: TypeAdapter[InvestigationCompleted | AlertResolved] = TypeAdapter(
    InvestigationMessage, config=ConfigDict(defer_build=True))
_TAGS = ("investigation.completed", "alert.resolved")


def parse_investigation_message(body: str | bytes) -> InvestigationCompleted | AlertResolved:
    """One SQS message body -> the typed message, or InvalidMessage naming what is wrong."""
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidMessage("invalid message: body is not UTF-8 text") from None
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, RecursionError):
        raise InvalidMessage("invalid message: body is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidMessage("invalid message: body is not a JSON object")
    try:
        return _MESSAGE_ADAPTER.validate_python(document)
    except ValidationError as exc:
        raise _as_invalid_message(exc) from None


def _as_invalid_message(exc: ValidationError) -> InvalidMessage:
    reasons: list[str] = []
    fields: list[str] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = [str(part) for part in error["loc"]]
        # The discriminated union prefixes every location with the tag it chose; the reader wants the field.
        if loc and loc[0] in _TAGS:
            loc = loc[1:]
        if error["type"] == "union_tag_not_found":
            field, message = "type", "field required (one of: " + ", ".join(_TAGS) + ")"
        elif error["type"] == "union_tag_invalid":
            field, message = "type", "unknown message type (expected one of: " + ", ".join(_TAGS) + ")"
        else:
            field, message = ".".join(loc) or "(message)", error["msg"]
        fields.append(field)
        reasons.append(f"{field}: {message}")
    shown = "; ".join(reasons[:MAX_REASONS])
    if len(reasons) > MAX_REASONS:
        shown += f"; and {len(reasons) - MAX_REASONS} more"
    return InvalidMessage(f"invalid message: {shown}", tuple(dict.fromkeys(fields)))
