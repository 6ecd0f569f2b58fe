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


# --- DynamoDB Streams ---------------------------------------------------------------------------------------


class StreamChange(_Lambda):
    sequence_number: str = Field(alias="SequenceNumber", min_length=1)
    new_image: dict[str, Any] = Field(default_factory=dict, alias="NewImage")


class StreamRecord(_Lambda):
    """One record of a DynamoDB stream event (`Records[]`), as the event source mapping (or GetRecords) gives it."""

    event_name: str = Field(alias="eventName")
    dynamodb: StreamChange

    @property
    def sequence_number(self) -> str:
        """What a partial batch failure names (`itemIdentifier`): Lambda retries from this record on."""
        return self.dynamodb.sequence_number


class StreamEvent(_Lambda):
    records: list[StreamRecord] = Field(default_factory=list, alias="Records")


class StreamBatchInfo(_Lambda):
    """What the event source mapping's on-failure destination receives about a batch it gave up on (the records
    themselves stay in the stream for 24 h)."""

    stream_arn: str = Field(alias="streamArn", min_length=1)
    shard_id: str = Field(alias="shardId", min_length=1)
    start_sequence_number: str = Field(alias="startSequenceNumber", min_length=1)
    end_sequence_number: str = Field(alias="endSequenceNumber", min_length=1)


class StreamFailure(_Lambda):
    """An on-failure destination message (the SQS body), handed back to the publisher to re-publish that range."""

    batch: StreamBatchInfo = Field(alias="DDBStreamBatchInfo")
