"""Daily digest benchmark: DynamoDB requests per tenant and wall time for N tenants through fan-out + worker.

    .venv/bin/python bench/digest.py [--tenants 1000]

Runs everything in one process: moto in-process (the template's table, queues, KMS key), the Slack stand-in on
loopback, the real handlers (DailyDigestFunction, then DigestWorkerFunction through the local SQS pump in batches
of 10, as the event source mapping would). DynamoDB requests are counted with a botocore `before-call` hook on the
client the functions use, so every request the code makes is seen, retries included. Setup (installations,
routing, eight days of counters per tenant) is not timed. Absolute times measure the emulator, not AWS; the
request counts are what carries over.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "layers" / "shared" / "python")]

REPORT_DAY = date(2026, 11, 26)
READS = {"Query", "GetItem", "BatchGetItem", "Scan"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    args = parser.parse_args()
    import logging

    from localdev.digest_cli import install_example_tenant, seed_example
    from localdev.handlers import LocalFunctions
    from localdev.in_process import in_process_sandbox
    from localdev.sqs_pump import SqsPump, scheduled_invocation_event
    from sre_slack.aws import client

    with in_process_sandbox(["DailyDigestFunction", "DigestWorkerFunction"]) as sandbox:
        slack, deployment, template = sandbox.slack, sandbox.deployment, sandbox.template
        logging.disable(logging.INFO)

        started = time.monotonic()
        for n in range(args.tenants):
            tenant = f"t_{n:05d}"
            # Each tenant its own channel, as in Slack: one shared id would make the per-channel pacer the bench.
            channel = f"C{n:07d}DG"
            slack.add_channel(channel, f"digest-{n}", bot_member=True)
            install_example_tenant(slack, tenant, channel=channel)
            seed_example(tenant, REPORT_DAY)  # eight days of counters and the report day's resolutions
        print(f"setup: {args.tenants} tenants with 8 days of counters in {time.monotonic() - started:.1f} s",
              file=sys.stderr)

        calls: Counter[str] = Counter()
        client("dynamodb").meta.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
        functions = LocalFunctions(template, deployment)
        pump = SqsPump(template, deployment, quiet=True, poll_interval=0.01)
        event = scheduled_invocation_event(deployment, "DailyDigestFunction", datetime(2026, 11, 27, 9, tzinfo=UTC))

        t0 = time.monotonic()
        fan_out = functions.invoke("DailyDigestFunction", event)
        t1 = time.monotonic()
        fan_out_calls = Counter(calls)
        calls.clear()
        batches = pump.drain(timeout=3600)
        t2 = time.monotonic()
        worker_calls = Counter(calls)
        posts = len(slack.calls_to("chat.postMessage"))
        failed = sum(len(b.failed_ids) for b in batches)

        # The same schedule event again (EventBridge delivers at least once): Powertools idempotency on the
        # event id answers with the first result and enqueues nothing.
        redelivered = functions.invoke("DailyDigestFunction", event)
        redelivered_jobs = sum(len(batch.message_ids) for batch in pump.drain(timeout=60))
        # A replay with a new event id (an operator re-running the day): every job runs again and the
        # per-channel markers must keep every digest from posting twice.
        calls.clear()
        t2b = time.monotonic()
        replay = scheduled_invocation_event(deployment, "DailyDigestFunction", datetime(2026, 11, 27, 9, tzinfo=UTC))
        functions.invoke("DailyDigestFunction", replay)
        pump.drain(timeout=3600)
        t3 = time.monotonic()
        duplicate_calls = Counter(calls)
        duplicate_posts = len(slack.calls_to("chat.postMessage")) - posts

    n = args.tenants
    reads = sum(v for k, v in worker_calls.items() if k in READS)
    writes = sum(v for k, v in worker_calls.items() if k not in READS)
    dup_reads = sum(v for k, v in duplicate_calls.items() if k in READS)
    dup_writes = sum(duplicate_calls.values()) - dup_reads
    print(f"""
Daily digest, {n:,} tenants (one digest channel each), moto in-process + Slack stand-in, {datetime.now(UTC):%Y-%m-%d}

| | value |
|---|---|
| fan-out: jobs enqueued | {fan_out["jobs"]:,} for day {fan_out["day"]} |
| fan-out: DynamoDB requests (index Query pages) | {sum(fan_out_calls.values())} ({dict(fan_out_calls)}) |
| fan-out: time | {t1 - t0:.2f} s |
| worker: digests posted / records failed | {posts:,} / {failed} |
| worker: DynamoDB reads per tenant | {reads / n:.2f} ({dict((k, v) for k, v in worker_calls.items() if k in READS)}) |
| worker: DynamoDB writes per tenant (marker before + after the post) | {writes / n:.2f} |
| worker: time (SQS batches of 10, sequential) | {t2 - t1:.2f} s ({(t2 - t1) / n * 1000:.1f} ms per tenant) |
| fan-out + worker, {n:,} tenants | {t2 - t0:.2f} s |
| same event delivered again (idempotent fan-out) | answer {redelivered}, {redelivered_jobs} jobs processed |
| replayed event (new id): extra posts | {duplicate_posts} |
| replayed event: DynamoDB reads / writes per tenant (fan-out included) | {dup_reads / n:.2f} / {dup_writes / n:.2f} |
| replayed event: time | {t3 - t2b:.2f} s |
""")
    return 0 if failed == 0 and duplicate_posts == 0 and posts == n else 1


if __name__ == "__main__":
    sys.exit(main())
