"""The digest job: one tenant's digest for one day, the body of a digest queue message.

A job is `{"tenant_id": ..., "day": "YYYY-MM-DD"}`, the body of a digest queue message. The day is decided once,
by the fan-out, from the schedule event's `time` (CONTRACT.md), so a job that sits in the queue past midnight or is
retried the next morning still reports the day it was created for.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class DigestJob(BaseModel):
    """One tenant's digest for one UTC day."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    tenant_id: str = Field(min_length=1, max_length=256)
    day: date

    def to_body(self) -> str:
        return self.model_dump_json()
