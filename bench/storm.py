"""Alert storm: 200 alike alerts within 60 s (event time) to one channel, through the real post_investigation handler.

    .venv/bin/python bench/storm.py [--alerts 200] [--latency 0.1]

moto (its own process) and the Slack stand-in, answering every call after `--latency` seconds and enforcing
Slack's per-channel pace on chat.postMessage (1/s, bursts of 3: a post over it is answered 429). The alerts
arrive as SQS would deliver them: batches of at most 10, one invocation at a time; a record the handler reports
failed comes back once the visibility it asked for (ChangeMessageVisibility; the queue's 180 s otherwise) is
over. The clock is the wall clock: the pacing, the count line's debounce and the visibilities all run for real.

Prints: top-level posts (goal <= 3), thread replies, chat.update calls (goal: a handful), 429s (goal 0), and the
time from the first alert's arrival until the last reply is in Slack.
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH)]

from measures import print_measures  # noqa: E402  (bench/ is the script's folder)
from post_investigation import FUNCTION, Sandbox  # noqa: E402  (the sandbox sets sys.path for the package)

CHANNEL = "C0STORM"
QUEUE_VISIBILITY_SECONDS = 180
START = datetime(2026, 11, 27, 8, 12, tzinfo=UTC)


def storm_alert(i: int, total: int) -> dict[str, Any]:
    message = json.loads((BENCH.parent / "events" / "investigation_completed.json").read_text())
    fired = START + timedelta(seconds=60 * i / total)
    message |= {"investigation_id": f"inv_storm_{i:04d}", "tenant_id": "t_bench", "cluster": "storm-cluster",
                "portal_url": f"https://portal.example.com/investigations/inv_storm_{i:04d}"}
    message["alert"] = message["alert"] | {"fired_at": fired.isoformat(), "summary": f"Pod payments/api-{i} restarts"}
    return message


class Visibility:
    """The visibility each failed record asks for, by receipt handle."""

    def __init__(self) -> None:
        self.by_receipt: dict[str, int] = {}

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        self.by_receipt[params["ReceiptHandle"]] = int(params["VisibilityTimeout"])


def sqs_event(box: Sandbox, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A Lambda SQS event of these messages, really sent and received; they are deleted from the queue at once
    (the bench itself brings back what fails, after the visibility the handler asked for)."""
    import boto3

    from localdev.sqs_pump import sqs_record

    sqs = boto3.client("sqs")
    url = box.aws.queue_url("InvestigationQueue")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps(m)}
                                                  for i, m in enumerate(messages)])
    received: list[dict[str, Any]] = []
    while len(received) < len(messages):
        received += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                        MessageSystemAttributeNames=["All"]).get("Messages", [])
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                    for i, m in enumerate(received)])
    arn = box.aws.queue_arn("InvestigationQueue")
    return {"Records": [sqs_record(m, queue_arn=arn, region=box.aws.region) for m in received]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()

    box = Sandbox()
    box.route({"storm-cluster": CHANNEL})
    box.slack.set_latency(args.latency)
    box.slack.enforce_channel_rate(1.0, burst=3)
    visibility = Visibility()
    import boto3

    from sre_slack import container

    boto3.DEFAULT_SESSION.events.register(  # type: ignore[union-attr]
        "before-parameter-build.sqs.ChangeMessageVisibility", visibility)
    container.reset()  # clients created from now on carry the hook
    box.functions.handler(FUNCTION)  # INIT outside the measure

    started = time.monotonic()
    # (visible at, order, message): the storm arrives over its 60 s, as the alerts fire.
    queue: list[tuple[float, int, dict[str, Any]]] = [
        (started + 60 * i / args.alerts, i, storm_alert(i, args.alerts)) for i in range(args.alerts)]
    heapq.heapify(queue)
    order = args.alerts
    invocations = redeliveries = 0
    while queue:
        now = time.monotonic()
        if queue[0][0] > now:
            time.sleep(queue[0][0] - now)
        batch: list[dict[str, Any]] = []
        while queue and queue[0][0] <= time.monotonic() and len(batch) < 10:
            batch.append(heapq.heappop(queue)[2])
        event = sqs_event(box, batch)
        answer = box.functions.invoke(FUNCTION, event)
        invocations += 1
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        back_at = time.monotonic()
        for record in event["Records"]:
            if record["messageId"] in failed:
                delay = visibility.by_receipt.get(record["receiptHandle"], QUEUE_VISIBILITY_SECONDS)
                heapq.heappush(queue, (back_at + delay, order, json.loads(record["body"])))
                order += 1
                redeliveries += 1

    posts = box.slack.calls_to("chat.postMessage")
    ok = [c for c in posts if c.error is None]
    top = [c for c in ok if not c.params.get("thread_ts")]
    replies = [c for c in ok if c.params.get("thread_ts")]
    updates = box.slack.calls_to("chat.update")
    limited = [c for c in box.slack.calls if c.http_status == 429 or c.error == "ratelimited"]
    wall_start = time.time() - (time.monotonic() - started)
    last_reply = max((c.timestamp for c in replies), default=wall_start) - wall_start
    in_channel = len(box.slack.top_level(CHANNEL))
    in_threads = sum(len(box.slack.replies(CHANNEL, m.ts)) for m in box.slack.top_level(CHANNEL))

    from collections import Counter

    from sre_slack.storage import investigations

    statuses: Counter[str] = Counter()
    for i in range(args.alerts):
        found = investigations.load_state("t_bench", f"inv_storm_{i:04d}").deliveries.get(CHANNEL)
        statuses[f"{found.status}{' (reply)' if found.thread_ts else ''}" if found else "absent"] += 1
        if found is None or found.status != "posted":
            print("not posted:", f"inv_storm_{i:04d}", found)

    first = box.slack.top_level(CHANNEL)[0]
    shown = next((b["elements"][0]["text"] for b in first.blocks if b.get("block_id") == "storm_count"), "(none)")

    rows = [
        (f"{args.alerts} alike alerts within 60 s to one channel, Slack latency {args.latency * 1000:.0f} ms", "", ""),
        ("top-level posts", str(len(top)), "<= 3"),
        ("thread replies", f"{len(replies)} (in the channel's threads: {in_threads}; top level: {in_channel})",
         f"{args.alerts - len(top)}"),
        ("chat.update calls (count line)", str(len(updates)), "a handful"),
        ("429 answers", str(len(limited)), "0"),
        ("the first message's count line at the end", shown, f"+{args.alerts - len(top)} similar"),
        ("time until the last reply", f"{last_reply:.0f} s", "~1 post/s/channel"),
        ("invocations / records redelivered", f"{invocations} / {redeliveries}", "-"),
        ("deliveries in the ledger", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())), "all posted"),
    ]
    print_measures(rows)
    box.slack.stop()
    box.moto.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
