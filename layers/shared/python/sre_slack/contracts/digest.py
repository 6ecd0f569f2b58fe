"""The daily digest's boundary models: the schedule event that starts it and the job of one tenant.

A job is `{"tenant_id": ..., "day": "YYYY-MM-DD"}`, the body of a digest queue message. The day is decided once,
by the fan-out, from the schedule event's `time` (CONTRACT.md), so a job that sits in the queue past midnight or is
retried the next morning still reports the day it was created for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class DigestJob(BaseModel):
    """One tenant's digest for one UTC day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(min_length=1, max_length=256)
    day: date

    def to_body(self) -> str:
        return self.model_dump_json()


class InvalidScheduleEvent(ValueError):
    """The event carries no usable `time`: nothing sensible can be reported."""


class ScheduleEvent(EventBridgeModel):
    """The EventBridge schedule's event (`Scheduled Event` from `aws.events`), as Powertools' parser models it."""

    @classmethod
    def parse(cls, event: Any) -> ScheduleEvent:
        try:
            return cls.model_validate(event)
        except ValidationError as exc:
            fields = ", ".join(sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()}))
            raise InvalidScheduleEvent(f"not a schedule event ({fields})") from None

    @property
    def fired_at(self) -> datetime:
        """The instant the schedule fired, in UTC."""
        return self.time.replace(tzinfo=UTC) if self.time.tzinfo is None else self.time.astimezone(UTC)

    @property
    def report_day(self) -> date:
        """The UTC calendar day before the schedule fired: the day the digest reports."""
        return self.fired_at.date() - timedelta(days=1)
