"""The Lambda events the consumers receive: an SQS record (as the event source mapping hands it over) and the
EventBridge schedule event.

Only what the integration reads is declared; everything else Lambda adds is ignored. These are small models of our
own rather than Powertools' parser models: importing those costs about 70 ms of every cold start (they build the
schemas of every field AWS documents), measured in bench/cold_start.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError


class _Lambda(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)


class SqsAttributes(_Lambda):
    approximate_receive_count: int = Field(1, alias="ApproximateReceiveCount")


class SqsMessageAttribute(_Lambda):
    string_value: str | None = Field(None, validation_alias=AliasChoices("stringValue", "StringValue"))


class QueueRecord(_Lambda):
    """One record of an SQS event (`Records[]`)."""

    message_id: str = Field(alias="messageId", min_length=1)
    receipt_handle: str = Field(alias="receiptHandle")
    body: str = ""
    attributes: SqsAttributes = Field(default_factory=SqsAttributes)
    message_attributes: dict[str, SqsMessageAttribute] = Field(default_factory=dict, alias="messageAttributes")

    @property
    def receive_count(self) -> int:
        return self.attributes.approximate_receive_count


class InvalidScheduleEvent(ValueError):
    """The event carries no usable `time`: nothing sensible can be reported."""


class ScheduleEvent(_Lambda):
    """The EventBridge schedule's event: its id (idempotency key) and when it fired."""

    id: str = Field(min_length=1)
    time: datetime

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
