"""Local stand-in for Lambda's SQS event source mapping (and the EventBridge schedule's event).

For every function with an `SQS` event in the template it receives batches, invokes the handler with a real
SQS Lambda event and deletes what succeeded. Failed messages are left alone: they come back after the queue's
visibility timeout and, past `maxReceiveCount`, moto moves them to the dead-letter queue — as in AWS.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localdev.handlers import LocalFunctions, print_invocation_error
from localdev.polling import BackgroundPoller
from localdev.template import SqsEventSource, Template

if TYPE_CHECKING:
    from localdev.aws import Deployment

SQS_RECEIVE_MAX = 10


@dataclass(frozen=True)
class BatchResult:
    """One invocation of one function with one batch."""

    function: str
    queue: str
    message_ids: tuple[str, ...]
    failed_ids: tuple[str, ...]
    reason: str | None = None  # why the whole batch failed, when it did

    @property
    def succeeded_ids(self) -> tuple[str, ...]:
        return tuple(m for m in self.message_ids if m not in self.failed_ids)


def _lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for name, value in attributes.items():
        item: dict[str, Any] = {}
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            item["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        item["stringListValues"] = list(value.get("StringListValues", []))
        item["binaryListValues"] = [base64.b64encode(v).decode() for v in value.get("BinaryListValues", [])]
        item["dataType"] = value["DataType"]
        converted[name] = item
    return converted


def sqs_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """A ReceiveMessage message as Lambda hands it to the function (one entry of `Records`)."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record |= {"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}
    return record


def failed_message_ids(source: SqsEventSource, result: Any, message_ids: list[str]) -> tuple[set[str], str | None]:
    """Which messages of a successful invocation failed, by Lambda's partial-batch rules.

    Returns (failed ids, reason the whole batch failed or None).
    """
    if not source.reports_batch_item_failures or result is None:
        return set(), None
    if not isinstance(result, dict):
        return set(message_ids), f"response is not a batch item failures object: {result!r}"
    failures = result.get("batchItemFailures")
    if not failures:
        return set(), None
    if not isinstance(failures, list):
        return set(message_ids), f"batchItemFailures is not a list: {failures!r}"
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            # An empty, missing or unknown itemIdentifier fails the whole batch (AWS).
            return set(message_ids), f"invalid itemIdentifier in {failure!r}"
        failed.add(identifier)
    return failed, None


class SqsPump(BackgroundPoller):
    """Polls the template's SQS event sources and invokes their functions, in a thread or step by step."""

    poller_name = "sqs"

    def __init__(
        self,
        template: Template,
        deployment: Deployment,
        *,
        poll_interval: float = 0.2,
        functions_root: Path | None = None,
        failed_visibility_timeout: int | None = None,
        quiet: bool = False,
    ) -> None:
        """`failed_visibility_timeout` (seconds) shortens the wait before a failed message is retried —
        a local convenience: AWS leaves it invisible for the queue's whole visibility timeout."""
        import boto3

        self.template = template
        self.deployment = deployment
        self.poll_interval = poll_interval
        self.failed_visibility_timeout = failed_visibility_timeout
        self.quiet = quiet
        self.functions = LocalFunctions(template, deployment, functions_root=functions_root)
        self.sources: list[tuple[str, SqsEventSource]] = [
            (logical_id, source)
            for logical_id, spec in template.functions().items()
            for source in spec.sqs_events
            if source.enabled
        ]
        self._sqs = boto3.client("sqs", region_name=deployment.region)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------ one step
    def run_once(self) -> list[BatchResult]:
        """Receive at most one batch per event source and process it."""
        results: list[BatchResult] = []
        with self._lock:
            for logical_id, source in self.sources:
                messages = self._receive(source)
                if messages:
                    results.append(self._process(logical_id, source, messages))
        return results

    def _receive(self, source: SqsEventSource) -> list[dict[str, Any]]:
        queue_url = self.deployment.queue_url(source.queue)
        batch: list[dict[str, Any]] = []
        while len(batch) < source.batch_size:
            response = self._sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_MAX, source.batch_size - len(batch)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            received = response.get("Messages", [])
            if not received:
                break
            batch += received
        return batch

    def _process(self, logical_id: str, source: SqsEventSource, messages: list[dict[str, Any]]) -> BatchResult:
        queue_arn = self.deployment.queue_arn(source.queue)
        event = {"Records": [sqs_record(m, queue_arn=queue_arn, region=self.deployment.region) for m in messages]}
        message_ids = [m["MessageId"] for m in messages]
        try:
            result = self.functions.invoke(logical_id, event)
        except Exception as exc:
            print_invocation_error(logical_id, exc)
            failed, reason = set(message_ids), f"{type(exc).__name__}: {exc}"
        else:
            failed, reason = failed_message_ids(source, result, message_ids)
        queue_url = self.deployment.queue_url(source.queue)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_RECEIVE_MAX):
            chunk = done[start : start + SQS_RECEIVE_MAX]
            self._sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        if self.failed_visibility_timeout is not None:
            for message in messages:
                if message["MessageId"] in failed:
                    self._sqs.change_message_visibility(
                        QueueUrl=queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=self.failed_visibility_timeout,
                    )
        outcome = BatchResult(
            function=logical_id,
            queue=source.queue,
            message_ids=tuple(message_ids),
            failed_ids=tuple(m for m in message_ids if m in failed),
            reason=reason,
        )
        if not self.quiet:
            note = f" ({reason})" if reason else ""
            print(
                f"[sqs] {source.queue} -> {logical_id}: {len(outcome.succeeded_ids)} done, "
                f"{len(outcome.failed_ids)} failed{note}",
                file=sys.stderr,
            )
        return outcome

    # ------------------------------------------------------------------------------------------ until empty
    def pending(self) -> dict[str, int]:
        """Messages per queue still to be received now (visible or delayed; in-flight failures excluded)."""
        counts: dict[str, int] = {}
        for _, source in self.sources:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self.deployment.queue_url(source.queue),
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
            )["Attributes"]
            counts[source.queue] = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesDelayed"]
            )
        return counts

    def drain(self, timeout: float = 10.0) -> list[BatchResult]:
        """Process until no queue has a message to receive (messages a handler enqueues included).

        Failed messages waiting out their visibility timeout do not count; raises TimeoutError when
        messages are still waiting after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        results: list[BatchResult] = []
        while True:
            round_results = self.run_once()
            results += round_results
            if not round_results:
                pending = self.pending()
                if not any(pending.values()):
                    return results
                if time.monotonic() > deadline:
                    raise TimeoutError(f"queues still hold messages after {timeout} s: {pending}")
                time.sleep(self.poll_interval)


# ---------------------------------------------------------------------------------------------------- schedule


def schedule_event(
    time: datetime,
    *,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    rule_arn: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The event an EventBridge schedule rule delivers at `time`."""
    when = time.astimezone(UTC) if time.tzinfo else time.replace(tzinfo=UTC)
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn or f"arn:aws:events:{region}:{account_id}:rule/local-schedule"],
        "detail": {},
    }


def scheduled_invocation_event(
    deployment: Deployment, logical_id: str, time: datetime, *, event_name: str | None = None
) -> dict[str, Any]:
    """What the function's Schedule event (the first, or `event_name`) delivers at `time`.

    A schedule with `Input` delivers that JSON instead of the scheduled event, as EventBridge does.
    """
    schedules = deployment.template.function(logical_id).schedules
    schedule = next((s for s in schedules if event_name in (None, s.name)), None)
    if schedule is None:
        raise ValueError(f"{logical_id} has no Schedule event {event_name or ''}".rstrip())
    if schedule.input is not None:
        return json.loads(schedule.input)
    rule = f"{deployment.stack_name}-{logical_id}{schedule.name}"
    return schedule_event(
        time,
        region=deployment.region,
        account_id=deployment.account_id,
        rule_arn=f"arn:aws:events:{deployment.region}:{deployment.account_id}:rule/{rule}",
    )
