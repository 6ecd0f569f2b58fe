"""The outbound events on the engine bus (CONTRACT.md "Outbound events"), version 1.

Each event is put on the `EngineEventBus` with `Source` SOURCE, `DetailType` the model's `detail_type` and
`Detail` its `to_detail()` JSON, after the change it reports is stored. Delivery is at least once: `event_id`
must be the same on every attempt to send the same change, so consumers can de-duplicate on it.

The models refuse fields they do not declare (a typo in the publisher fails loudly), but the published schemas
leave objects open: a consumer must ignore fields it does not know, so a later field is not a new version.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from sre_slack.contracts.investigation import NonBlank, SafeId, UtcDatetime

SOURCE = "ai-sre.slack"

Rating = Literal["accurate", "partially_accurate", "needs_improvement"]


def _published_schema(schema: dict[str, Any]) -> None:
    # extra="forbid" guards the publisher; consumers read the schema and must accept fields added later.
    schema.pop("additionalProperties", None)
    # `version` has a default for the publisher's sake, but every Detail carries it.
    if "version" in schema.get("properties", {}) and "version" not in schema.get("required", []):
        schema["required"] = ["version", *schema.get("required", [])]


_EVENT = ConfigDict(extra="forbid", frozen=True, defer_build=True, json_schema_extra=_published_schema)


class EventUser(BaseModel):
    """The Slack user whose action the event reports."""

    model_config = _EVENT

    id: NonBlank = Field(description="Slack user id (U… or W…)")
    name: StrictStr = Field(description="the user's Slack name as Slack sent it with the action")


class EngineEvent(BaseModel):
    """What every outbound event's `Detail` holds."""

    model_config = _EVENT
    detail_type: ClassVar[str]

    version: Literal["1"] = "1"
    event_id: NonBlank = Field(description="the same on every delivery of one change: de-duplicate on it")
    tenant_id: SafeId
    investigation_id: SafeId
    cluster: NonBlank
    user: EventUser
    at: UtcDatetime = Field(description="when the user acted, ISO 8601 UTC")

    def to_detail(self) -> str:
        """The `Detail` of the PutEvents entry: JSON, optional fields left out when they are not set."""
        return self.model_dump_json(exclude_none=True)

    def to_entry(self, event_bus_name: str) -> dict[str, str]:
        """One PutEvents entry for this event."""
        return {"EventBusName": event_bus_name, "Source": SOURCE, "DetailType": self.detail_type,
                "Detail": self.to_detail()}


class FeedbackRecorded(EngineEvent):
    """`feedback.recorded`: a rating was stored; sent again when a user changes their rating."""

    detail_type: ClassVar[str] = "feedback.recorded"

    rating: Rating
    reason: StrictStr | None = Field(None, description="what was wrong, when the Needs Improvement modal said it "
                                                       "(wrong_root_cause, missing_context, wrong_commands, other)")
    comment: StrictStr | None = Field(None, description="the comment typed in the modal, when there was one")


class InvestigationAcknowledged(EngineEvent):
    """`investigation.acknowledged`: the first acknowledgement of an investigation (later clicks send nothing)."""

    detail_type: ClassVar[str] = "investigation.acknowledged"


class ReinvestigationRequested(EngineEvent):
    """`investigation.reinvestigation_requested`: a user asked from Slack for the investigation to run again."""

    detail_type: ClassVar[str] = "investigation.reinvestigation_requested"


ENGINE_EVENTS: tuple[type[EngineEvent], ...] = (FeedbackRecorded, InvestigationAcknowledged, ReinvestigationRequested)
