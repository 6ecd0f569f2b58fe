"""The chaos suite's harness: SQS as the event source mapping runs it, on a virtual clock, and the faults.

- `VirtualClock` moves `time.time()` and `time.monotonic()` forward for everything in the process (the functions'
  leases and per-channel pacing, moto, the Slack stand-in) when the harness waits between invocations, and when a
  function sleeps (pacing a channel): a 120 s re-send backoff or a paced channel costs no real time, yet uses up
  the invocation's deadline as it would in Lambda. Sleepers in parallel wake at their own instants (the clock goes
  to the latest, not the sum). The stand-in's slow answers stay on the wall clock, so the client's timeout fires.
- `SimulatedQueue` is the source queue: at-least-once receives, `ApproximateReceiveCount`, the visibility timeout,
  the functions' ChangeMessageVisibility (Retry-After, re-send backoff) and, past maxReceiveCount, SQS's own move to
  the dead-letter queue (which carries no reason). The functions' own dead-letter copies go to the emulated
  dead-letter queue (moto), as in AWS.
- `item_level_transaction_rollback` keeps moto's transactions linear: moto copies every table a transaction names,
  whole, before each of its actions (quadratic over a thousand investigations); the rollback only needs the items
  the transaction touches, so those are what is kept and put back.
- `DynamoDBThrottling` answers a seeded share of the functions' DynamoDB requests with
  ProvisionedThroughputExceededException (what botocore raises once its own retries are spent).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import moto.dynamodb.models as moto_dynamodb
import pytest
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from sre_slack.aws import client as aws_client
from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger


class VirtualClock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._real = time.time
        self._real_monotonic = time.monotonic
        # The harness itself sometimes has to let real time pass (a request on its way to the stand-in).
        self.wall_sleep = time.sleep
        self.offset = 0.0
        self._lock = threading.Lock()
        monkeypatch.setattr(time, "time", self.time)
        monkeypatch.setattr(time, "monotonic", self.monotonic)
        monkeypatch.setattr(time, "sleep", self.sleep)

    def time(self) -> float:
        return self._real() + self.offset

    def monotonic(self) -> float:
        return self._real_monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += max(0.0, seconds)

    def sleep(self, seconds: float) -> None:
        """Wake `seconds` later on this clock, at once: the clock moves to this sleeper's wake-up time if it is
        not already past it."""
        with self._lock:
            wake_at = self._real_monotonic() + self.offset + max(0.0, seconds)
            self.offset = max(self.offset, wake_at - self._real_monotonic())


@dataclass
class QueuedMessage:
    message_id: str
    body: str
    sent_at: float
    visible_at: float
    receive_count: int = 0
    receipt: str = ""


@dataclass
class SimulatedQueue:
    """One SQS queue feeding one function, on the virtual clock."""

    clock: VirtualClock
    arn: str
    region: str
    visibility_timeout: int
    max_receive_count: int
    messages: dict[str, QueuedMessage] = field(default_factory=dict)
    # Moved by SQS itself after maxReceiveCount: no reason attached (the harness counts these as lost reasons).
    redriven_by_sqs: list[QueuedMessage] = field(default_factory=list)
    _visibility: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, body: str | dict[str, Any]) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        message_id = str(uuid.uuid4())
        now = self.clock.time()
        with self._lock:
            self.messages[message_id] = QueuedMessage(message_id, text, now, now)
        return message_id

    def receive(self, limit: int = 10) -> list[QueuedMessage]:
        now = self.clock.time()
        batch: list[QueuedMessage] = []
        with self._lock:
            for message in sorted(self.messages.values(), key=lambda m: (m.visible_at, m.sent_at)):
                if len(batch) == limit or message.visible_at > now:
                    break
                if message.receive_count >= self.max_receive_count:
                    del self.messages[message.message_id]
                    self.redriven_by_sqs.append(message)
                    continue
                message.receive_count += 1
                message.receipt = uuid.uuid4().hex
                message.visible_at = now + self.visibility_timeout
                batch.append(message)
        return batch

    def next_visible(self) -> float | None:
        with self._lock:
            return min((m.visible_at for m in self.messages.values()), default=None)

    def change_visibility(self, receipt: str, seconds: int) -> None:
        with self._lock:
            self._visibility[receipt] = seconds

    def settle(self, batch: list[QueuedMessage], answer: dict[str, Any] | None) -> set[str]:
        """Apply an invocation's answer like the event source mapping: delete what succeeded; what failed waits
        out its visibility (as the function may have changed it). None (the invocation failed) fails all."""
        failed = {m.message_id for m in batch} if answer is None else {
            f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        now = self.clock.time()
        with self._lock:
            for message in batch:
                if message.message_id not in failed:
                    self.messages.pop(message.message_id, None)
                elif message.receipt in self._visibility:
                    message.visible_at = now + self._visibility.pop(message.receipt)
        return failed

    def event(self, batch: list[QueuedMessage]) -> dict[str, Any]:
        return {"Records": [{
            "messageId": m.message_id, "receiptHandle": m.receipt, "body": m.body,
            "attributes": {"ApproximateReceiveCount": str(m.receive_count),
                           "SentTimestamp": str(int(m.sent_at * 1000)), "SenderId": "chaos",
                           "ApproximateFirstReceiveTimestamp": str(int(m.sent_at * 1000))},
            "messageAttributes": {}, "md5OfBody": hashlib.md5(m.body.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs", "eventSourceARN": self.arn, "awsRegion": self.region,
        } for m in batch]}

    def intercept_visibility_changes(self) -> None:
        """The functions' ChangeMessageVisibility calls land here instead of in the emulator."""
        def answer(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
            request = json.loads(params["body"])
            self.change_visibility(request["ReceiptHandle"], int(request["VisibilityTimeout"]))
            return _Ok(), {}

        aws_client("sqs").meta.events.register("before-call.sqs.ChangeMessageVisibility", answer)


class _Ok:
    status_code = 200


def item_level_transaction_rollback(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's TransactWriteItems, with a rollback that restores the touched items instead of whole-table copies."""
    original = moto_dynamodb.DynamoDBBackend.transact_write_items

    class _TablesNotCopied:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        kept: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
        for action in transact_items:
            _, operation = next(iter(action.items()))
            table = backend.tables.get(operation.get("TableName"))
            key = operation.get("Key") or operation.get("Item")
            if table is None or not key or table.hash_key_attr not in key:
                continue
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            kept.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            original(backend, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(kept):
                if item is not None and range_key is not None:
                    table.items[hash_key][range_key] = item
                elif item is not None:
                    table.items[hash_key] = item
                else:
                    table.delete_item(hash_key, range_key)
            raise

    monkeypatch.setattr(moto_dynamodb, "copy", _TablesNotCopied)
    monkeypatch.setattr(moto_dynamodb.DynamoDBBackend, "transact_write_items", transact_write_items)


@dataclass
class DynamoDBThrottling:
    """A seeded share of the functions' DynamoDB requests fail with ProvisionedThroughputExceededException."""

    rate: float
    seed: int
    injected: Counter[str] = field(default_factory=Counter)
    enabled: bool = True

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        aws_client("dynamodb").meta.events.register("before-call.dynamodb.*", self._maybe_throttle)

    def _maybe_throttle(self, model: Any, **_: Any) -> tuple[Any, dict[str, Any]] | None:
        with self._lock:
            if not self.enabled or self._rng.random() >= self.rate:
                return None
            self.injected[model.name] += 1
        error = {"Error": {"Code": "ProvisionedThroughputExceededException",
                           "Message": "The level of configured provisioned throughput for the table was exceeded"},
                 "ResponseMetadata": {"HTTPStatusCode": 400}}
        return _Throttled(), error


class _Throttled:
    status_code = 400


class InvocationKilled(Exception):
    """Raised in a killed invocation's thread by its next AWS call: Lambda stopped it at its timeout."""


class Killer:
    """Stops an invocation the way Lambda's timeout does: from the moment it is killed, every AWS request made
    in the process fails (the harness runs nothing else meanwhile), so whatever it was doing (a Slack post on its
    way) is never recorded. Slack may still get the post: the ambiguity a dead invocation leaves behind."""

    def __init__(self) -> None:
        self._killing = threading.Event()
        self.kills = 0
        for service in ("dynamodb", "sqs"):
            aws_client(service).meta.events.register(f"before-call.{service}.*", self._refuse_while_killing)

    def cut_off(self, clock: VirtualClock, call: Callable[[], Any], *, after: float) -> None:
        """Run `call` as the only invocation, and stop it `after` (wall-clock) seconds in."""
        def run() -> None:
            with contextlib.suppress(Exception):  # a killed invocation failing is what killing it means
                call()

        thread = threading.Thread(target=run)
        thread.start()
        clock.wall_sleep(after)
        self._killing.set()
        self.kills += 1
        thread.join()
        self._killing.clear()

    def _refuse_while_killing(self, **_: Any) -> None:
        if self._killing.is_set():
            raise InvocationKilled("the invocation was stopped at its timeout")


@dataclass
class Invocation:
    answer: dict[str, Any] | None
    seconds: float
    error: str | None = None


def invoke(handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any], context: Any) -> Invocation:
    """Call the handler as Lambda does (JSON in and out); an exception is an invocation error (all records fail)."""
    started = time.monotonic()
    try:
        answer = handler(json.loads(json.dumps(event)), context)
    except Exception as exc:  # the invocation failed: Lambda retries the whole batch
        return Invocation(None, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    return Invocation(json.loads(json.dumps(answer)), time.monotonic() - started)


def tally_lines(title: str, rows: dict[str, Any]) -> str:
    width = max(len(k) for k in rows)
    lines = [title, *(f"  {k:<{width}}  {v}" for k, v in rows.items())]
    return "\n".join(lines)


TALLY_DIR = Path(__file__).parents[2] / ".test-logs"


def report(name: str, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Print a tally (shown with `pytest -s`) and keep it in .test-logs/<name>.txt, which `make test` runs on
    workers whose output pytest does not show."""
    with capsys.disabled():
        print("\n" + text)
    TALLY_DIR.mkdir(exist_ok=True)
    (TALLY_DIR / f"{name}.txt").write_text(text + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------------- helpers


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads started together (two Lambda instances, several people clicking); their results."""
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def as_function(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, functions: Any,
                logical_id: str) -> Any:
    """The function's handler, with its environment set and its logger quiet (thousands of invocations: their
    INFO lines would only slow the run)."""
    for name, value in functions.env(logical_id).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    handler = functions.handler(logical_id)
    logger = get_logger()
    request.addfinalizer(lambda level=logger.log_level: logger.setLevel(level))
    logger.setLevel("ERROR")
    return handler


def injected_faults(slack_faults: Any, throttling: DynamoDBThrottling) -> dict[str, int]:
    """What the Slack fault plan and DynamoDB throttling injected, for the report."""
    return {**{f"slack {k}": v for k, v in slack_faults.injected.items()},
            **{f"dynamodb throttled {k}": v for k, v in throttling.injected.items()}}
