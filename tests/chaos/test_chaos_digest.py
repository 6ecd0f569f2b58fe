"""The daily digest under chaos: the schedule's event delivered twice, the fan-out, and the real digest worker on a
simulated SQS queue (virtual clock, visibility, receive counts) against moto and the Slack stand-in.

What it injects: the 09:00 event delivered twice, every job delivered twice by SQS, Slack failing ~20% of
chat.postMessage calls (429, 503, 500, resets before and after posting, errors after posting), DynamoDB
throttling on ~2% of requests, two workers at once, workers with too little time left, workers cut off by their
timeout while a post is on its way (the post may land; nothing of it is recorded), a tenant whose token Slack
revoked and a digest channel archived before the run.

At the end, for every tenant and digest channel: one digest with the day's numbers, possibly followed by copies
labelled re-sent (never an unlabelled second one), or a reason recorded in the ledger, or the job in the
dead-letter queue with its reason. The tally goes to `.test-logs/chaos-digest.txt` (and `pytest -s`).
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import partial

import boto3
import pytest

from localdev.digest_cli import install_example_tenant, record_alert
from localdev.lambda_context import LambdaContext
from localdev.sqs_pump import scheduled_invocation_event
from sre_slack.contracts.settings import get_settings
from sre_slack.storage.tenant_config import put_routing
from tests.chaos.harness import (
    DynamoDBThrottling,
    Killer,
    SimulatedQueue,
    VirtualClock,
    as_function,
    at_once,
    injected_faults,
    invoke,
    item_level_transaction_rollback,
    report,
    tally_lines,
)
from tests.posting import RESENT_NOTICE
from tests.support import digest_marker

pytestmark = pytest.mark.chaos

SEED = 20261203
TENANTS = 40
DAY = date(2026, 11, 26)
WORKER = "DigestWorkerFunction"
REVOKED_TENANT = "t_digest_07"
ARCHIVED_CHANNEL = "C0DG12B"


def _tenant(n: int) -> str:
    return f"t_digest_{n:02d}"


def _channels(n: int) -> list[str]:
    return [f"C0DG{n:02d}A", f"C0DG{n:02d}B"] if n % 3 == 0 else [f"C0DG{n:02d}A"]


@pytest.mark.timeout(600)
def test_every_digest_arrives_once_when_the_event_repeats_and_workers_fail(functions, slack, aws, monkeypatch,
                                                                           capsys, request):
    rng = random.Random(SEED)
    totals: dict[str, int] = {}
    for n in range(TENANTS):
        tenant, channels = _tenant(n), _channels(n)
        for channel in channels:
            slack.add_channel(channel, channel.lower())
        before = set(slack.tokens_for("T0LOCAL"))
        install_example_tenant(slack, tenant, channel=channels[0])
        put_routing(tenant, {"default_channels": [channels[0]], "digest_channels": channels, "routes": []})
        if tenant == REVOKED_TENANT:
            for token in set(slack.tokens_for("T0LOCAL")) - before:
                slack.revoke_token(token)
        firings = rng.randrange(0, 40)
        if firings:
            record_alert(tenant, DAY, severity=rng.choice(["critical", "warning"]), namespace="payments",
                         alert="KubePodCrashLooping", cluster="prod", times=firings)
        record_alert(tenant, DAY - timedelta(days=1), severity="warning", namespace="payments",
                     alert="KubePodCrashLooping", cluster="prod", times=rng.randrange(1, 40))
        totals[tenant] = firings
    slack.archive_channel(ARCHIVED_CHANNEL)

    # 09:00 the next morning, delivered twice: the fan-out enqueues each tenant's job once.
    event = scheduled_invocation_event(aws, "DailyDigestFunction", datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    for _ in range(2):
        functions.invoke("DailyDigestFunction", event)
    sqs = boto3.client("sqs")
    jobs: list[str] = []
    while batch := sqs.receive_message(QueueUrl=aws.queue_url("DigestQueue"), MaxNumberOfMessages=10,
                                       VisibilityTimeout=900).get("Messages", []):
        jobs += [m["Body"] for m in batch]
    assert sorted(json.loads(job)["tenant_id"] for job in jobs) == [_tenant(n) for n in range(TENANTS)]

    handler = as_function(monkeypatch, request, functions, WORKER)

    clock = VirtualClock(monkeypatch)
    item_level_transaction_rollback(monkeypatch)
    queue = SimulatedQueue(clock, aws.queue_arn("DigestQueue"), aws.region, visibility_timeout=180,
                           max_receive_count=get_settings().max_receive_count)
    queue.intercept_visibility_changes()
    for body in jobs + jobs:  # and SQS delivers at least once: every job twice
        queue.send(body)
    throttling = DynamoDBThrottling(rate=0.02, seed=SEED)
    killer = Killer()
    slack_faults = slack.fail_randomly(0.20, methods=("chat.postMessage",), seed=SEED)
    injected: Counter[str] = Counter()

    def run_batch(context: LambdaContext) -> None:
        batch = queue.receive()
        if batch:
            queue.settle(batch, invoke(handler, queue.event(batch), context).answer)

    step = 0
    while queue.messages:
        step += 1
        assert step < 2000, "the digest queue never drained"
        if not any(m.visible_at <= clock.time() for m in list(queue.messages.values())):
            upcoming = queue.next_visible()
            if upcoming is not None:
                clock.advance(upcoming - clock.time())
            continue
        timeout = 3.5 if step % 7 == 0 else 30
        injected["workers with little time left"] += timeout < 30
        context = LambdaContext(function_name=aws.function_name(WORKER), memory_limit_in_mb=512,
                                invoked_function_arn=aws.function_arn(WORKER), timeout_seconds=timeout)
        if step % 9 == 4:
            # Cut off by its timeout while a post is on its way: the batch is never settled (its messages come back
            # after the visibility timeout), and the claim it left expires.
            batch = queue.receive(limit=3)
            slack.set_latency(1.5, "chat.postMessage")
            killer.cut_off(clock, lambda b=batch, c=context: invoke(handler, queue.event(b), c), after=0.6)
            slack.set_latency(0, "chat.postMessage")
            injected["workers cut off mid-post"] += 1
        elif step % 3 == 0:
            at_once(partial(run_batch, context), partial(run_batch, context))
            injected["steps with two workers at once"] += 1
        else:
            run_batch(context)
        clock.advance(1.0)

    throttling.enabled = False
    slack.faults.reset()
    injected.update(injected_faults(slack_faults, throttling))
    injected["the 09:00 event delivered twice"] = 1
    injected["every job delivered twice by SQS"] = len(jobs)
    injected["token revoked at Slack"] = 1
    injected["digest channel archived"] = 1

    dead: dict[str, list[str]] = defaultdict(list)
    while batch := sqs.receive_message(QueueUrl=aws.queue_url("DigestDeadLetterQueue"), MaxNumberOfMessages=10,
                                       MessageAttributeNames=["All"], VisibilityTimeout=300).get("Messages", []):
        for m in batch:
            reason = m.get("MessageAttributes", {}).get("reason", {}).get("StringValue", "")
            assert reason, "a dead-letter copy without a reason"
            dead[json.loads(m["Body"])["tenant_id"]].append(reason)
    assert queue.redriven_by_sqs == [], "SQS moved jobs to the dead-letter queue without a reason"

    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    for n in range(TENANTS):
        tenant = _tenant(n)
        for channel in _channels(n):
            digests = [m for m in slack.messages(channel)
                       if m.text.removeprefix("[re-sent] ").startswith("Alert digest for 2026-11-26")]
            marker = digest_marker(tenant, DAY, channel) or {}
            unlabelled = [m for m in digests if RESENT_NOTICE not in json.dumps(m.blocks, ensure_ascii=False)]
            if len(unlabelled) > 1:
                problems.append(f"{tenant} {channel}: {len(unlabelled)} unlabelled digests")
            if digests:
                outcomes["posted"] += 1
                outcomes["posted, with re-sent copies"] += len(digests) > 1 or not unlabelled
                expected = [f": {totals[tenant]} alert", *(["no alerts"] if not totals[tenant] else [])]
                if not all(any(e in m.text for e in expected) for m in digests):
                    problems.append(f"{tenant} {channel}: {[m.text for m in digests]} lacks {expected[0]!r}")
            elif marker.get("status") in ("failed", "undeliverable", "skipped") and marker.get("reason"):
                outcomes[f"{marker['status']}: {str(marker['reason']).split(':')[0]}"] += 1
            elif dead.get(tenant):
                outcomes["in the dead-letter queue"] += 1
            else:
                problems.append(f"{tenant} {channel}: no digest, marker {marker}, not in the dead-letter queue")

    title = f"digest chaos tally ({TENANTS} tenants, {2 * len(jobs)} job deliveries, seed {SEED})"
    report("chaos-digest", tally_lines(title, {
        **dict(sorted(outcomes.items())),
        **{f"dead-letter queue: {r.split(':')[0]}": c for r, c in sorted(Counter(
            r for rs in dead.values() for r in rs).items())},
        "workers cut off (kills)": killer.kills,
        "problems": len(problems),
    }) + "\n" + tally_lines("faults injected", dict(sorted(injected.items()))), capsys)
    assert problems == []
    assert (digest_marker(REVOKED_TENANT, DAY, _channels(7)[0]) or {}).get("status") == "undeliverable"
    assert (digest_marker(_tenant(12), DAY, ARCHIVED_CHANNEL) or {}).get("status") == "failed"
