"""Local stand-in for Lambda's DynamoDB stream event source mapping (the template's `AWS::Lambda::EventSourceMapping`).

For every mapping from a table's stream to a template function it reads the shard in order, drops the records its
`FilterCriteria` reject, invokes the handler with a real stream event (`Records`, as Lambda builds them) and
checkpoints what succeeded. A failure (an exception, or `batchItemFailures` with `ReportBatchItemFailures`) is
retried from the failed record on; once `MaximumRetryAttempts` retries have failed too, the batch's coordinates go to
the `OnFailure` queue (`{"DDBStreamBatchInfo": ...}`, as Lambda sends them) and the shard moves on. Not emulated:
bisecting a failed batch, `MaximumRecordAgeInSeconds`, `StartingPosition` (shards are read from their start, the
pump starting with the emulator), parallelization (one batch per shard at a time, as Lambda's default).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from localdev.handlers import LocalFunctions, print_invocation_error
from localdev.polling import BackgroundPoller
from localdev.template import StreamEventSource, Template

if TYPE_CHECKING:
    from localdev.aws import Deployment


@dataclass(frozen=True)
class StreamBatchResult:
    """One invocation of one function with one batch of stream records."""

    function: str
    sequence_numbers: tuple[str, ...]
    failed_from: str | None = None  # the first record to retry, when the batch failed
    reason: str | None = None
    discarded: bool = False  # retries exhausted: sent to the on-failure destination


@dataclass
class _Shard:
    after: str | None = None  # last checkpointed sequence number
    attempts: int = 0  # failed invocations of the batch starting after `after`


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering (the EventBridge pattern subset the template uses: exact values, `prefix`)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(matches(sub, value.get(key)) for key, sub in pattern.items())
    if isinstance(pattern, list):
        return any(_matches_one(option, value) for option in pattern)
    return pattern == value


def _matches_one(option: Any, value: Any) -> bool:
    if isinstance(option, dict) and "prefix" in option:
        return isinstance(value, str) and value.startswith(option["prefix"])
    return option == value


def lambda_record(record: dict[str, Any], *, stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it to the function (one entry of `Records`)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.astimezone(UTC).timestamp())
    return {"eventID": record.get("eventID"), "eventName": record.get("eventName"), "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": region, "dynamodb": change, "eventSourceARN": stream_arn}


@dataclass
class StreamPump(BackgroundPoller):
    """Lambda's event source mapping on DynamoDB streams, for the local sandbox and tests."""

    poller_name = "stream"
    template: Template
    deployment: Deployment
    poll_interval: float = 0.2
    functions_root: Path | None = None
    quiet: bool = False
    _shards: dict[tuple[str, str], _Shard] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.functions = LocalFunctions(self.template, self.deployment, functions_root=self.functions_root)
        self.sources = [source for source in self.template.stream_sources() if source.enabled]
        # Account-based endpoints (<account>.streams-ddb...) are not served by moto in process.
        self._streams = boto3.client("dynamodbstreams", region_name=self.deployment.region,
                                     config=Config(account_id_endpoint_mode="disabled"))
        self._sqs = boto3.client("sqs", region_name=self.deployment.region)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------ one step
    def run_once(self) -> list[StreamBatchResult]:
        """At most one batch per shard of every mapping."""
        results: list[StreamBatchResult] = []
        with self._lock:
            for source in self.sources:
                stream_arn = str(self.deployment.get_att(source.table, "StreamArn"))
                shards = self._streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
                for shard in shards:
                    result = self._step(source, stream_arn, shard["ShardId"])
                    if result is not None:
                        results.append(result)
        return results

    def drain(self, timeout: float = 10.0) -> list[StreamBatchResult]:
        """Process until every shard is read to its end (failed batches retried, or discarded past the retries)."""
        deadline = time.monotonic() + timeout
        results: list[StreamBatchResult] = []
        while True:
            round_results = self.run_once()
            results += round_results
            if not round_results:
                return results
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream records still pending after {timeout} s")

    def _step(self, source: StreamEventSource, stream_arn: str, shard_id: str) -> StreamBatchResult | None:
        state = self._shards.setdefault((source.name, shard_id), _Shard())
        while True:
            read = self._read(source, stream_arn, shard_id, state)
            if not read:
                return None
            batch = [r for r in read if not source.filters or any(matches(p, r) for p in source.filters)]
            if batch:
                break
            # Filtered out: checkpointed without an invocation, as Lambda does.
            state.after, state.attempts = read[-1]["dynamodb"]["SequenceNumber"], 0
        event = {"Records": [lambda_record(r, stream_arn=stream_arn, region=self.deployment.region) for r in batch]}
        numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        failed_from, reason = self._invoke(source, event, numbers)
        if failed_from is None:
            state.after, state.attempts = read[-1]["dynamodb"]["SequenceNumber"], 0
            return self._report(StreamBatchResult(source.function, tuple(numbers)))
        # Checkpoint what succeeded; retry from the failed record on.
        done = [r for r in read if int(r["dynamodb"]["SequenceNumber"]) < int(failed_from)]
        if done:
            state.after, state.attempts = done[-1]["dynamodb"]["SequenceNumber"], 0
        state.attempts += 1
        if source.maximum_retry_attempts < 0 or state.attempts <= source.maximum_retry_attempts:
            return self._report(StreamBatchResult(source.function, tuple(numbers), failed_from, reason))
        self._discard(source, stream_arn, shard_id, failed_from, numbers[-1], len(numbers), reason)
        state.after, state.attempts = read[-1]["dynamodb"]["SequenceNumber"], 0
        return self._report(StreamBatchResult(source.function, tuple(numbers), failed_from, reason, discarded=True))

    def _read(self, source: StreamEventSource, stream_arn: str, shard_id: str, state: _Shard) -> list[dict[str, Any]]:
        # Every shard is read from its start (TRIM_HORIZON): the pump starts with the emulator, so nothing is older.
        request: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if state.after is not None:
            request = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": state.after}
        iterator = self._streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, **request)["ShardIterator"]
        return list(self._streams.get_records(ShardIterator=iterator, Limit=source.batch_size).get("Records", []))

    def _invoke(self, source: StreamEventSource, event: dict[str, Any],
                numbers: list[str]) -> tuple[str | None, str | None]:
        try:
            result = self.functions.invoke(source.function, event)
        except Exception as exc:
            print_invocation_error(source.function, exc)
            return numbers[0], f"{type(exc).__name__}: {exc}"
        if not source.reports_batch_item_failures or not isinstance(result, dict):
            return None, None
        failures = result.get("batchItemFailures") or []
        identifiers = [f.get("itemIdentifier") for f in failures if isinstance(f, dict)]
        if not failures:
            return None, None
        if any(i not in numbers for i in identifiers) or len(identifiers) != len(failures):
            return numbers[0], f"invalid itemIdentifier in {failures!r}"  # the whole batch fails, as in AWS
        return min(identifiers, key=int), "batchItemFailures"

    def _discard(self, source: StreamEventSource, stream_arn: str, shard_id: str, first: str, last: str, size: int,
                 reason: str | None) -> None:
        if source.on_failure is None:
            return
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        message = {
            "requestContext": {"requestId": f"local-{time.time_ns()}", "condition": "RetryAttemptsExhausted",
                               "approximateInvokeCount": source.maximum_retry_attempts + 1,
                               "functionArn": self.deployment.function_arn(source.function)},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": reason or ""},
            "version": "1.0", "timestamp": now,
            "DDBStreamBatchInfo": {"shardId": shard_id, "startSequenceNumber": first, "endSequenceNumber": last,
                                   "approximateArrivalOfFirstRecord": now, "approximateArrivalOfLastRecord": now,
                                   "batchSize": size, "streamArn": stream_arn},
        }
        self._sqs.send_message(QueueUrl=self.deployment.queue_url(source.on_failure), MessageBody=json.dumps(message))

    def _report(self, result: StreamBatchResult) -> StreamBatchResult:
        if not self.quiet:
            outcome = "discarded" if result.discarded else "failed" if result.failed_from else "done"
            note = f" ({result.reason})" if result.reason else ""
            print(f"[stream] -> {result.function}: {len(result.sequence_numbers)} records {outcome}{note}",
                  file=sys.stderr)
        return result
