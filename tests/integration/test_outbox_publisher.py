"""The outbox and its one publisher: an event stored with its change reaches the bus at least once, whatever fails
on the way (EventBridge refusing an entry or unreachable, the retries running out), and nothing else does.

The stream is moto's DynamoDB stream of SlackTable; `streams` reads it like Lambda's event source mapping (filter,
partial batch failures, retries, on-failure destination) and runs the real EngineEventsFunction handler."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localdev.stream_pump import lambda_record
from sre_slack import aws as sre_aws
from sre_slack.contracts.engine_events import ReinvestigationRequested
from sre_slack.contracts.settings import get_settings
from sre_slack.services import engine_events
from sre_slack.storage import keys, outbox, ratings
from sre_slack.storage.acknowledgements import Acknowledgement, acknowledge
from sre_slack.storage.table import to_item

TENANT, INVESTIGATION = "t_acme", "inv_01"


@pytest.fixture
def seen(aws) -> str:
    boto3.client("dynamodb").put_item(TableName=get_settings().table_name, Item=to_item(
        {**keys.seen_key(TENANT, INVESTIGATION), "cluster": "production-us-east"}))
    return INVESTIGATION


def request(n: int) -> ReinvestigationRequested:
    return engine_events.reinvestigation_requested(TENANT, INVESTIGATION, "production-us-east", user_id="U0BOB",
                                                   user_name="bob", click=f"17957671{n:02d}.000100",
                                                   at=datetime(2026, 11, 27, 8, 14, n, tzinfo=UTC))


class FlakyBus:
    """EventBridge answering the next calls with a failure: every entry refused (FailedEntryCount, as under
    throttling) or no answer at all (the endpoint unreachable)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *failures: str) -> None:
        self.client = sre_aws.client("events")
        self.real = self.client.put_events
        self.failures = list(failures)
        self.calls = 0
        monkeypatch.setattr(self.client, "put_events", self.put_events)

    def put_events(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        failure = self.failures.pop(0) if self.failures else None
        if failure == "unreachable":
            raise ConnectionError("events.us-east-1.amazonaws.com unreachable")
        if failure == "refused":
            entries = request["Entries"]
            return {"FailedEntryCount": len(entries),
                    "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}] * len(entries)}
        return self.real(**request)


def test_a_stored_event_reaches_the_bus_with_every_field(seen, streams, engine_bus):
    event = request(1)
    assert outbox.record_event(event) == outbox.Recorded.STORED
    assert outbox.record_event(event) == outbox.Recorded.ALREADY_STORED  # a retry of the same change

    streams.drain()

    [delivered] = engine_bus.received()
    assert delivered["source"] == "ai-sre.slack"
    assert delivered["detail-type"] == "investigation.reinvestigation_requested"
    assert delivered["detail"] == {
        "version": "1", "event_id": event.event_id, "tenant_id": TENANT, "investigation_id": INVESTIGATION,
        "cluster": "production-us-east", "user": {"id": "U0BOB", "name": "bob"}, "at": "2026-11-27T08:14:01Z"}


def test_an_event_for_an_investigation_never_posted_is_not_stored(aws, streams, engine_bus):
    assert outbox.record_event(request(1)) == outbox.Recorded.UNKNOWN_INVESTIGATION
    streams.drain()
    assert engine_bus.received() == []


@pytest.mark.parametrize("failure", ["refused", "unreachable"])
def test_a_publish_failure_then_success_delivers_each_event_once(seen, streams, engine_bus, monkeypatch, failure):
    for n in range(3):
        outbox.record_event(request(n))
    bus = FlakyBus(monkeypatch, failure)

    results = streams.drain()

    assert [bool(r.failed_from) for r in results] == [True, False]
    details = engine_bus.details()
    assert [d["at"] for d in details] == [f"2026-11-27T08:14:0{n}Z" for n in range(3)]  # once each, in order
    assert bus.calls == 2


def test_a_partial_refusal_reports_the_first_record_not_put(seen, aws, functions, monkeypatch):
    """The handler's own answer: Lambda checkpoints what precedes the named record and retries from it."""
    for n in range(3):
        outbox.record_event(request(n))
    records = [r for r in _stream_records(aws) if r["dynamodb"]["Keys"]["sk"]["S"].startswith(keys.OUTBOX_PREFIX)]
    client = sre_aws.client("events")
    real = client.put_events

    def second_refused(**call: Any) -> dict[str, Any]:
        answer = real(Entries=call["Entries"][:1])
        answer["Entries"] += [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
                              for _ in call["Entries"][1:]]
        answer["FailedEntryCount"] = len(call["Entries"]) - 1
        return answer

    monkeypatch.setattr(client, "put_events", second_refused)
    answer = functions.invoke("EngineEventsFunction", {"Records": records})

    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}


def test_past_the_retries_the_batch_waits_in_the_failure_queue_and_replaying_it_delivers(
        seen, aws, functions, streams, engine_bus, monkeypatch):
    for n in range(2):
        outbox.record_event(request(n))
    FlakyBus(monkeypatch, *["unreachable"] * 11)  # the first try and the mapping's 10 retries

    results = streams.drain()

    assert results[-1].discarded and engine_bus.received() == []
    [failure] = _messages(aws, "EngineEventsFailureQueue")
    info = failure["DDBStreamBatchInfo"]
    assert info["streamArn"] == aws.get_att("SlackTable", "StreamArn") and info["batchSize"] == 2
    # The operator, once EventBridge is back: invoke the publisher with the message (docs/runbook.md).
    assert functions.invoke("EngineEventsFunction", failure) == {"replayed": 2}
    assert [d["at"] for d in engine_bus.details()] == ["2026-11-27T08:14:00Z", "2026-11-27T08:14:01Z"]


def test_only_new_outbox_items_are_published(seen, aws, functions, streams, engine_bus):
    """The mapping's filter drops every other change of the table; the handler skips them too if one slips by."""
    ratings.record_rating(TENANT, INVESTIGATION, user_id="U0ALICE", rating="accurate", team_id="T0LOCAL")
    ack = Acknowledgement(TENANT, INVESTIGATION, "U0ALICE", 1795767245, "alice")
    acknowledge(ack, event=lambda a: engine_events.acknowledged(a, "production-us-east"))
    boto3.client("dynamodb").delete_item(TableName=get_settings().table_name,
                                         Key=to_item(keys.outbox_key(TENANT, INVESTIGATION, _only_outbox_id())))

    streams.drain()

    assert [e["detail-type"] for e in engine_bus.received()] == ["investigation.acknowledged"]
    unfiltered = _stream_records(aws)  # the rating row, ACK, the outbox INSERT and its REMOVE
    assert functions.invoke("EngineEventsFunction", {"Records": unfiltered}) == {"batchItemFailures": []}
    assert [e["detail-type"] for e in engine_bus.received()] == ["investigation.acknowledged"]


def test_an_outbox_item_without_its_event_holds_the_shard_until_it_is_set_aside(seen, aws, functions):
    boto3.client("dynamodb").put_item(TableName=get_settings().table_name, Item=to_item(
        {**keys.outbox_key(TENANT, INVESTIGATION, "broken"), "detail_type": "feedback.recorded"}))
    [record] = _stream_records(aws)[-1:]

    answer = functions.invoke("EngineEventsFunction", {"Records": [record]})

    assert answer == {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}


# --- helpers ------------------------------------------------------------------------------------------------


def _stream_records(aws) -> list[dict[str, Any]]:
    """Every record of SlackTable's stream so far, as Lambda would hand them over."""
    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    arn = aws.get_att("SlackTable", "StreamArn")
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    raw = streams.get_records(ShardIterator=iterator)["Records"]
    return json.loads(json.dumps([lambda_record(r, stream_arn=arn, region=aws.region) for r in raw], default=str))


def _messages(aws, logical_id: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    answer = sqs.receive_message(QueueUrl=aws.queue_url(logical_id), MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def _only_outbox_id() -> str:
    [found] = _outbox_items()
    return found["event_id"]["S"]


def test_each_change_writes_its_event_once_and_repeats_write_none(seen):
    def announce(row: ratings.Rating) -> Any:
        return engine_events.feedback_recorded(row, "production-us-east")

    for rating in ("accurate", "accurate", "needs_improvement"):  # a double click, then a change
        ratings.record_rating(TENANT, INVESTIGATION, user_id="U0BOB", rating=rating, team_id="T0LOCAL",
                              user_name="bob", event=announce)
    for _ in range(2):  # a submission, then Slack retrying it
        ratings.add_comment(TENANT, INVESTIGATION, "U0BOB", reason="other", comment="Wrong cluster", event=announce)
    ratings.add_comment(TENANT, INVESTIGATION, "U0BOB", reason="other", comment="Wrong namespace", event=announce)

    details = [json.loads(item["detail"]["S"]) for item in _outbox_items()]
    assert sorted((d["rating"], d.get("comment", "")) for d in details) == [
        ("accurate", ""), ("needs_improvement", ""), ("needs_improvement", "Wrong cluster"),
        ("needs_improvement", "Wrong namespace")]
    assert len({d["event_id"] for d in details}) == 4
    row = ratings.get_rating(TENANT, INVESTIGATION, "U0BOB")
    assert (row.changes, row.comment_seq, row.comment) == (1, 2, "Wrong namespace")


def _outbox_items() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").query(
        TableName=get_settings().table_name, KeyConditionExpression="pk = :pk AND begins_with(sk, :o)",
        ExpressionAttributeValues={":pk": {"S": keys.investigation_pk(TENANT, INVESTIGATION)},
                                   ":o": {"S": keys.OUTBOX_PREFIX}})["Items"]
