"""The HTTP API's bodies (CONTRACT.md "HTTP API") besides the routing document (contracts.routing).

`IntegrationCheckRequest` is parsed from the request; the answers describe what the routes send, for the published
OpenAPI document (docs/contract/openapi.json), and tests/e2e/test_contract_answers.py checks the routes' real
answers against it. Answers may gain fields: a client must ignore the ones it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from sre_slack.contracts.engine_events import Rating
from sre_slack.contracts.investigation import SafeId, Severity
from sre_slack.contracts.routing import RouteName, RoutingDocument


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class ErrorBody(_Answer):
    """Every 4xx and 5xx answer of our routes. Some codes add fields (`reason`, `channel`, `retry_after`, ...)."""

    error: str = Field(description="a stable code to branch on")
    message: str = Field(description="human text, for a person to read")


class FieldProblem(_Answer):
    """One refused field of a routing document."""

    field: str = Field(description="dotted path, e.g. routes.1.channels.0")
    message: str
    channel: str | None = Field(None, description="invalid_channel only: the refused channel id")
    reason: Literal["not_found", "archived"] | None = Field(None, description="invalid_channel only")


class RoutingRefused(ErrorBody):
    """400 to `PUT /routing`: nothing was stored."""

    error: Literal["invalid_routing", "invalid_channel"]
    details: list[FieldProblem]


class InstallAnswer(_Answer):
    authorize_url: str = Field(description="our /slack/oauth/start link: the portal sends the browser there")


class Team(_Answer):
    id: str
    name: str


class ChannelHealth(_Answer):
    channel: str
    status: Literal["ok", "failing"]
    reason: str | None = Field(description="Slack's error of the last failed delivery")
    permanent: bool = Field(description="true: posting skips the channel until the routing is saved again")
    updated_at: datetime | None


class DeliveryHealth(_Answer):
    status: Literal["ok", "degraded", "disconnected"]
    channels: list[ChannelHealth]


class InstallationView(_Answer):
    """`GET /slack/installation`. Without an active installation: `installed` false, no `team` or `scopes`."""

    installed: bool
    status: Literal["active", "revoked", "inactive", "not_installed"]
    status_reason: str | None = Field(description="Slack's error code or event when the token stopped working")
    status_changed_at: datetime | None = None
    team: Team | None = None
    enterprise_id: str | None = None
    bot_user_id: str | None = None
    scopes: list[str] | None = None
    installed_at: datetime | None = None
    routing_configured: bool | None = None
    health: DeliveryHealth


class PickerChannel(_Answer):
    id: str
    name: str
    is_private: bool
    is_member: bool


class GroupingSetting(_Answer):
    enabled: bool
    window_minutes: int | None = Field(description="the storm window; null when grouping is off")


class ChannelPicker(_Answer):
    """`GET /slack/channels` (`?refresh=true` lists again instead of using the cached listing)."""

    channels: list[PickerChannel]
    grouping: GroupingSetting = Field(description="how the stored routing groups alert storms (routes may opt out)")
    fetched_at: datetime
    truncated: bool | None = Field(None, description="present (true) when Slack's listing was cut short")


class RoutingWarning(_Answer):
    channel: str
    fields: list[str]
    message: str


class StoredRouting(RoutingDocument):
    """`PUT /routing` 200: the stored document, with `warnings` when a channel needs attention."""

    warnings: list[RoutingWarning] | None = None


class IntegrationCheckRequest(BaseModel):
    """The optional body of `POST /clusters/{cluster}/test`; no body at all is fine."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    workspace: RouteName | None = Field(None, description="test the routing of a cluster in this workspace")
    severity: Severity | None = Field(
        None, description="the sample's severity; default: the most severe one the cluster's routes take")


class IntegrationCheckAccepted(_Answer):
    """`POST /clusters/{cluster}/test` 202: the sample is on the investigation queue."""

    investigation_id: SafeId
    channels: list[str] = Field(description="where the sample will be posted")
    severity: Severity = Field(description="the sample's severity")


class PreviousFeedback(_Answer):
    """What a rater said with an earlier rating of theirs."""

    rating: Rating | None
    label: str | None
    reason: str | None
    reason_label: str | None
    comment: str | None
    commented_at: datetime | None


class RatingView(_Answer):
    user_id: str
    user_name: str | None
    rating: Rating
    label: str
    team_id: str
    channel_id: str | None
    rated_at: datetime | None
    first_rated_at: datetime | None
    changes: int = Field(description="how often the rater changed their rating")
    reason: str | None
    reason_label: str | None
    comment: str | None
    commented_at: datetime | None
    previous: PreviousFeedback | None
    before_revision: bool = Field(False, description="given before the investigation was last re-investigated")


class FeedbackReport(_Answer):
    """`GET /investigations/{id}/feedback`: the tenant's ratings of that investigation (empty for another's)."""

    investigation_id: str
    total: int
    counts: dict[Rating, int]
    ratings: list[RatingView]


class UrlVerificationAnswer(_Answer):
    challenge: StrictStr


class EventAccepted(_Answer):
    ok: Literal[True]


class ModalErrors(_Answer):
    """A Needs Improvement modal submission Slack must show errors for (the modal stays open)."""

    response_action: Literal["errors"]
    errors: dict[str, str]
