"""The events the integration puts on the engine bus (CONTRACT.md, "Outbound events").

EventBridge `Source` is `ai-sre.slack`, `DetailType` the model's `DETAIL_TYPE`, `Detail` the model's JSON
(`detail_json`). Every detail carries `version`, `event_id` (consumers de-duplicate on it), `tenant_id`,
`investigation_id`, `cluster`, `user` and `at` (ISO 8601 UTC, `2026-11-27T08:14:05Z`); `feedback.recorded` adds
`rating`, and `reason` and `comment` only when the modal gave them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

SOURCE = "ai-sre.slack"
VERSION = "1"


class _Detail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class EventUser(_Detail):
    """The Slack user who did it: their id, and their Slack handle when Slack sent one."""

    id: str = Field(min_length=1)
    name: str | None = None


class EngineEvent(_Detail):
    """What every outbound event carries."""

    DETAIL_TYPE: ClassVar[str]
    # Keys left out of the JSON when they hold None (the contract: "when the modal gave them").
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset()

    version: Literal["1"] = VERSION
    event_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    investigation_id: str = Field(min_length=1)
    cluster: str
    user: EventUser
    at: AwareDatetime

    @field_serializer("at")
    def _utc(self, at: datetime) -> str:
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def detail(self) -> dict[str, Any]:
        """The event's `Detail` as a JSON-ready dict."""
        values = self.model_dump(mode="json")
        return {key: value for key, value in values.items() if not (key in self._OPTIONAL and value is None)}

    def detail_json(self) -> str:
        """`Detail` as PutEvents takes it: compact JSON, non-ASCII kept as is."""
        return json.dumps(self.detail(), separators=(",", ":"), ensure_ascii=False)


class FeedbackRecorded(EngineEvent):
    """A rating was recorded or changed, or the Needs Improvement modal added what was wrong."""

    DETAIL_TYPE: ClassVar[str] = "feedback.recorded"
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset({"reason", "comment"})

    rating: Literal["accurate", "partially_accurate", "needs_improvement"]
    reason: str | None = None
    comment: str | None = None


class InvestigationAcknowledged(EngineEvent):
    """The first acknowledgement of an investigation (later clicks send nothing)."""

    DETAIL_TYPE: ClassVar[str] = "investigation.acknowledged"


class ReinvestigationRequested(EngineEvent):
    """Someone asked from Slack for the investigation to run again."""

    DETAIL_TYPE: ClassVar[str] = "investigation.reinvestigation_requested"


DETAIL_TYPES: dict[str, type[EngineEvent]] = {
    model.DETAIL_TYPE: model for model in (FeedbackRecorded, InvestigationAcknowledged, ReinvestigationRequested)
}

