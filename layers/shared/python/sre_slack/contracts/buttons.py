"""What we put into Slack and Slack hands back: the feedback buttons' `value` and the modal's `private_metadata`.

Both are compact JSON that we write and read back when someone clicks or submits. Anyone in the channel can
craft a click, so reading back is strict: `parse` returns None for anything we could not have built (other
keys, other types, ids that are not safe ids), and building one from bad values raises a ValidationError that
names the field. The JSON is the same as json.dumps(..., separators=(",", ":")) has always written.
"""

from __future__ import annotations

import json
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The ids are the investigation message's own, held to the same rule.
from sre_slack.contracts.investigation import SafeId


class _RoundTrip(BaseModel):
    """A model that travels through Slack as compact JSON under short keys (the aliases)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True,
                              defer_build=True)

    def encode(self) -> str:
        return json.dumps(self.model_dump(by_alias=True), separators=(",", ":"))

    @classmethod
    def parse(cls, raw: str | None) -> Self | None:
        """The model `raw` encodes, or None when it is not one we could have written."""
        if not raw:
            return None
        try:
            # Only the short keys we write: {"tenant_id": ...} is not something we could have built.
            return cls.model_validate_json(raw, by_alias=True, by_name=False)
        except ValidationError:
            return None


class FeedbackButtonValue(_RoundTrip):
    """The feedback buttons' `value`: `{"t": tenant_id, "i": investigation_id}`, never a token."""

    tenant_id: SafeId = Field(alias="t")
    investigation_id: SafeId = Field(alias="i")


class ModalContext(_RoundTrip):
    """Where the Needs Improvement modal came from: `{"t", "i", "c": channel or null, "ts": message or null}`."""

    tenant_id: SafeId = Field(alias="t")
    investigation_id: SafeId = Field(alias="i")
    channel_id: str | None = Field(default=None, alias="c")
    message_ts: str | None = Field(default=None, alias="ts")
