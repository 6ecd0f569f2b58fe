"""A thousand investigations through the real post_investigation handler, with Slack and DynamoDB failing at random.

Seeded and deterministic in what it sends and which faults it draws. Batches come from a simulated SQS on a virtual
clock (visibility, Retry-After, receive counts, the dead-letter queue after maxReceiveCount), the handler runs
against moto and the Slack stand-in on loopback. What it injects:
- Slack, on ~8% of chat.postMessage / chat.update calls: 429 with Retry-After, 503, 500 internal_error that did not
  post, internal_error after posting, a connection reset before and after posting, and (rarely) an answer slower than
  the client's timeout after posting;
- Slack unreachable for whole invocations (connection refused: the request never left);
- a routed channel deleted midway (channel_not_found), another archived (is_archived), a tenant's token revoked for
  a while and then reinstalled;
- DynamoDB throttling on ~2% of requests (ProvisionedThroughputExceededException after botocore's retries);
- invocations with too little time left (records not started, posts not started before the deadline);
- two invocations at once (two Lambda instances) on every fifth step;
- duplicates, re-investigations (some before their original, ordered by completed_at), resolves (some before their
  investigation), test investigations and malformed messages.

At the end every valid investigation must be in every routed channel, or recorded as undeliverable with a reason,
or in the dead-letter queue with a reason; no message may be duplicated without the re-sent label; the messages show
the latest re-investigation and the resolves; the digest counters equal the distinct non-test investigations; the
malformed messages never reached Slack. The tally is printed (`pytest -s` shows it).
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import boto3
import pytest

from localdev.lambda_context import LambdaContext
from sre_slack.contracts.routing import RoutingDocument
from sre_slack.contracts.settings import get_settings
from sre_slack.domain.routing import resolve_channels
from sre_slack.observability import get_logger
from sre_slack.storage import keys
from sre_slack.storage.investigations import load_state
from sre_slack.storage.table import table
from sre_slack.storage.tenant_config import put_routing
from tests.chaos.harness import (
    DynamoDBThrottling,
    SimulatedQueue,
    VirtualClock,
    at_once,
    injected_faults,
    invoke,
    item_level_transaction_rollback,
    report,
    tally_lines,
)
from tests.posting import RESENT_NOTICE
from tests.support import run_install

pytestmark = pytest.mark.chaos

SEED = 20261201
INVESTIGATIONS = int(os.environ.get("CHAOS_INVESTIGATIONS", "1000"))
FUNCTION = "PostInvestigationFunction"
# Where nothing listens: a connection to it is refused before any request leaves.
UNREACHABLE_SLACK = "http://127.0.0.1:9/api/"
MALFORMED_MARKER = "CHAOS-MALFORMED"

TENANTS = {
    "t_north": {"team": "T0LOCAL", "channels": ["C0N1", "C0N2", "C0NCRIT"]},
    "t_south": {"team": "T0SOUTH", "channels": ["C0S1", "C0S2", "C0SARCH"]},
    "t_east": {"team": "T0EAST", "channels": ["C0E1", "C0EGONE"]},
}
ROUTING = {
    "t_north": {"default_channels": ["C0N1"], "digest_channels": [], "routes": [
        {"cluster": "north-prod", "channels": ["C0N1", "C0N2"]},
        {"cluster": "north-prod", "channels": ["C0NCRIT"], "severities": ["critical"]}]},
    "t_south": {"default_channels": ["C0S1"], "digest_channels": [], "routes": [
        {"workspace": "south-team", "channels": ["C0S2"]},
        {"workspace": "south-team", "channels": ["C0SARCH"], "severities": ["critical"]}]},
    "t_east": {"default_channels": ["C0E1"], "digest_channels": [], "routes": [
        {"cluster": "east-prod", "channels": ["C0E1", "C0EGONE"]}]},
}
CLUSTERS = {"t_north": ["north-prod", "north-dev"], "t_south": ["south-prod"], "t_east": ["east-prod", "east-dev"]}
DAY_ONE = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _investigation(rng: random.Random, index: int) -> dict[str, Any]:
    tenant = rng.choice(sorted(TENANTS))
    fired = DAY_ONE + timedelta(minutes=rng.randrange(0, 2 * 24 * 60))
    investigation_id = f"inv_chaos_{index:04d}"
    return {
        "version": "1", "type": "investigation.completed", "investigation_id": investigation_id, "tenant_id": tenant,
        "cluster": rng.choice(CLUSTERS[tenant]), "workspace": "south-team" if tenant == "t_south" else None,
        "alert": {"name": rng.choice(["KubePodCrashLooping", "KubeMemoryOvercommit", "NodeDiskPressure"]),
                  "severity": rng.choice(["critical", "warning", "warning", "info"]),
                  "namespace": rng.choice(["payments", "checkout", None]),
                  "summary": f"Chaos alert {investigation_id}: pod restarting", "fired_at": _iso(fired)},
        "root_cause": f"First analysis of {investigation_id}.",
        "recommended_actions": [{"title": "Look", "command": f"kubectl describe pod {investigation_id[-4:]}"}],
        "completed_at": _iso(fired + timedelta(minutes=3)),
        "test": rng.random() < 0.03,
    }


def _workload(rng: random.Random) -> tuple[list[dict[str, Any] | str], dict[str, dict[str, Any]]]:
    """The messages in send order, and per investigation what its channels must end up showing."""
    sends: list[tuple[float, dict[str, Any] | str]] = []
    final: dict[str, dict[str, Any]] = {}
    for index in range(INVESTIGATIONS):
        inv = _investigation(rng, index)
        at = index + rng.random()
        sends.append((at, inv))
        expected = {"message": inv, "resolved": False}
        if rng.random() < 0.10:  # SQS (or the engine) delivers it twice
            sends.append((at + rng.uniform(1, 300), inv))
        if rng.random() < 0.10:  # re-investigated; a third of them arrive before the original
            revised = {**inv, "root_cause": f"Revised analysis of {inv['investigation_id']}.",
                       "completed_at": _iso(datetime.fromisoformat(inv["completed_at"]) + timedelta(minutes=17))}
            sends.append((at + (rng.uniform(-3, -0.5) if rng.random() < 0.33 else rng.uniform(1, 200)), revised))
            expected["message"] = revised
        if rng.random() < 0.15:  # resolved; a fifth of the resolves arrive before their investigation
            resolve = {"version": "1", "type": "alert.resolved", "investigation_id": inv["investigation_id"],
                       "tenant_id": inv["tenant_id"], "resolved_at": inv["completed_at"]}
            sends.append((at + (rng.uniform(-2, -0.1) if rng.random() < 0.2 else rng.uniform(1, 400)), resolve))
            expected["resolved"] = True
        final[inv["investigation_id"]] = expected
    for index in range(25):
        bad: dict[str, Any] | str = rng.choice([
            f"{{not json {MALFORMED_MARKER}-{index}",
            {"version": "1", "type": "investigation.completed", "tenant_id": "t_north",
             "investigation_id": f"{MALFORMED_MARKER}-{index}"},
            {"version": "2", "type": "investigation.completed", "note": f"{MALFORMED_MARKER}-{index}"},
        ])
        sends.append((rng.uniform(0, INVESTIGATIONS), bad))
    return [message for _, message in sorted(sends, key=lambda item: item[0])], final


def _message_key(message: Any) -> str | None:
    for word in message.text.replace(":", " ").split():
        if word.startswith("inv_chaos_"):
            return word
    return None


def _is_note(message: Any) -> bool:
    return any(block.get("block_id") in ("revised_note", "resolved_note") for block in message.blocks)


@pytest.mark.timeout(900)
def test_a_thousand_investigations_survive_slack_and_dynamodb_failures(functions, slack, aws, monkeypatch, capsys,
                                                                        request):
    rng = random.Random(SEED)
    for name, value in functions.env(FUNCTION).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    for tenant, spec in TENANTS.items():
        if spec["team"] != "T0LOCAL":
            slack.add_team(spec["team"], f"{tenant} workspace")
        for channel in spec["channels"]:
            slack.add_channel(channel, channel.lower(), team_id=spec["team"])
        assert run_install(functions, slack, tenant=tenant, team_id=spec["team"]).callback.status == 302
        put_routing(tenant, ROUTING[tenant])
    handler = functions.handler(FUNCTION)
    logger = get_logger()
    request.addfinalizer(lambda level=logger.log_level: logger.setLevel(level))
    logger.setLevel("ERROR")  # thousands of records: their INFO lines would only slow the run

    clock = VirtualClock(monkeypatch)
    item_level_transaction_rollback(monkeypatch)
    queue = SimulatedQueue(clock, aws.queue_arn("InvestigationQueue"), aws.region, visibility_timeout=180,
                           max_receive_count=get_settings().max_receive_count)
    queue.intercept_visibility_changes()
    throttling = DynamoDBThrottling(rate=0.02, seed=SEED)
    slack_faults = slack.fail_randomly(0.08, seed=SEED, slow_rate=0.002)
    messages, final = _workload(rng)
    injected: Counter[str] = Counter()

    def run_batch(context: LambdaContext) -> None:
        batch = queue.receive()
        if batch:
            queue.settle(batch, invoke(handler, queue.event(batch), context).answer)

    sent = step = 0
    while sent < len(messages) or queue.messages:
        step += 1
        assert step < 6000, "the queue never drained"
        for message in messages[sent:sent + 8]:
            queue.send(message)
        sent = min(len(messages), sent + 8)
        if step == 40:
            slack.delete_channel("C0EGONE")  # a routed channel goes away midway
            injected["channel deleted midway"] += 1
        if step == 55:
            slack.archive_channel("C0SARCH")  # ... and another one is archived
            injected["channel archived midway"] += 1
        if step == 70:
            for token in slack.tokens_for("T0SOUTH"):
                slack.revoke_token(token)  # revoked for a while ...
            injected["token revoked for a while"] += 1
        if step == 100:
            run_install(functions, slack, tenant="t_south", team_id="T0SOUTH")  # ... and reinstalled
            for name, value in functions.env(FUNCTION).items():
                monkeypatch.setenv(name, value)
            get_settings.cache_clear()
        if not any(m.visible_at <= clock.time() for m in list(queue.messages.values())):
            upcoming = queue.next_visible()
            if upcoming is not None:
                clock.advance(upcoming - clock.time())
            continue
        timeout = 30
        if step % 11 == 0:
            timeout = rng.choice([3.5, 7])  # too little time left: the runner and the pacing stop short
            injected["invocations with little time left"] += 1
        context = LambdaContext(function_name=aws.function_name(FUNCTION), memory_limit_in_mb=512,
                                invoked_function_arn=aws.function_arn(FUNCTION), timeout_seconds=timeout)
        if step % 17 == 0:
            monkeypatch.setenv("SLACK_API_URL", UNREACHABLE_SLACK)  # Slack unreachable for this invocation
            get_settings.cache_clear()
            run_batch(context)
            monkeypatch.setenv("SLACK_API_URL", functions.env(FUNCTION)["SLACK_API_URL"])
            get_settings.cache_clear()
            injected["invocations with Slack unreachable"] += 1
        elif step % 5 == 0:  # two Lambda instances at once
            at_once(partial(run_batch, context), partial(run_batch, context))
            injected["steps with two invocations at once"] += 1
        else:
            run_batch(context)
        clock.advance(1.0)

    throttling.enabled = False
    slack.faults.reset()
    injected.update(injected_faults(slack_faults, throttling))

    # --- what the dead-letter queue holds, with reasons
    sqs = boto3.client("sqs")
    dead: list[tuple[str, str]] = []
    while batch := sqs.receive_message(QueueUrl=aws.queue_url("InvestigationDeadLetterQueue"),
                                       MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                       VisibilityTimeout=300).get("Messages", []):
        dead += [(m["Body"], m.get("MessageAttributes", {}).get("reason", {}).get("StringValue", "")) for m in batch]
    assert all(reason for _, reason in dead), "a dead-letter copy without a reason"
    assert queue.redriven_by_sqs == [], "SQS moved messages to the dead-letter queue without a reason"
    dead_by_investigation: dict[str, list[str]] = defaultdict(list)
    for body, reason in dead:
        try:
            dead_by_investigation[json.loads(body).get("investigation_id", "?")].append(reason)
        except ValueError:
            dead_by_investigation["(not json)"].append(reason)

    # --- what landed in Slack
    shown: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for message in slack.messages():
        key = _message_key(message)
        # A thread note (root cause revised, resolved) names the investigation too, one per revision: not a copy.
        if key is not None and not _is_note(message):
            shown[(message.channel, key)].append(message)
    unlabelled_duplicates = [k for k, ms in shown.items()
                             if sum(RESENT_NOTICE not in json.dumps(m.blocks, ensure_ascii=False) for m in ms) > 1]
    assert unlabelled_duplicates == []
    assert not any(MALFORMED_MARKER in json.dumps(call.params) for call in slack.calls)

    # --- every investigation, channel by channel
    outcomes: Counter[str] = Counter()
    lost: list[str] = []
    stale_content: list[str] = []
    counted = 0
    resolved_seen: set[str] = set()  # resolved non-test investigations, nothing of them dead-lettered
    resolved_maybe: set[str] = set()
    for investigation_id, expected in final.items():
        message = expected["message"]
        tenant = message["tenant_id"]
        state = load_state(tenant, investigation_id)
        if state.stored is None:
            if dead_by_investigation.get(investigation_id):
                outcomes["in the dead-letter queue before its first sighting"] += 1
            else:
                lost.append(f"{investigation_id}: never seen, not in the dead-letter queue")
            continue
        counted += not state.stored.investigation.test
        if expected["resolved"] and not state.stored.investigation.test:
            # a resolve that ended in the dead-letter queue may or may not have got that far
            (resolved_maybe if dead_by_investigation.get(investigation_id) else resolved_seen).add(investigation_id)
        routing = RoutingDocument.model_validate(ROUTING[tenant])
        routed = resolve_channels(routing, cluster=message["cluster"], workspace=message["workspace"],
                                  severity=message["alert"]["severity"]).channels
        for channel in routed if "-" not in state.deliveries else ["-"]:
            current = state.deliveries.get(channel)
            if current is None:
                lost.append(f"{investigation_id} in {channel}: no delivery recorded")
            elif current.status == "posted":
                copies = shown.get((channel, investigation_id), [])
                if not copies:
                    lost.append(f"{investigation_id} in {channel}: recorded posted, not in the channel")
                    continue
                outcomes["posted"] += 1
                outcomes["posted with the re-sent label"] += any(
                    RESENT_NOTICE in json.dumps(m.blocks, ensure_ascii=False) for m in copies)
                latest = copies[-1]
                content = json.dumps(latest.blocks, ensure_ascii=False)
                if current.update_refused:
                    # Slack refused a later update for good (channel deleted, token revoked): recorded beside it.
                    outcomes[f"posted; a later update refused: {current.update_refused.split(':')[0]}"] += 1
                    continue
                if message["root_cause"] not in content and not dead_by_investigation.get(investigation_id):
                    stale_content.append(f"{investigation_id} in {channel}: not the latest root cause")
                if expected["resolved"] and not dead_by_investigation.get(investigation_id):
                    if "Resolved" not in latest.text:
                        stale_content.append(f"{investigation_id} in {channel}: resolved but not shown resolved")
                    outcomes["shown resolved"] += 1
            elif current.status in ("failed", "undeliverable", "skipped", "gone"):
                assert current.reason, f"{investigation_id} in {channel}: {current.status} without a reason"
                outcomes[f"{current.status}: {current.reason.split(':')[0]}"] += 1
            elif dead_by_investigation.get(investigation_id):
                outcomes[f"in the dead-letter queue ({current.status})"] += 1
            else:
                lost.append(f"{investigation_id} in {channel}: {current.status}, not in the dead-letter queue")

    # --- the digest counts every non-test investigation once
    counters = 0
    for tenant in TENANTS:
        for item in table().query(keys.counts_pk(tenant)):
            counters += int(item.get("total", 0))
    dead_reasons = Counter(reason.split(":")[0] for _, reason in dead)
    # --- time to resolve: one row per resolved investigation, however often its resolve was delivered
    resolution_rows = Counter(str(item["investigation_id"]) for tenant in TENANTS
                              for item in table().query(keys.resolutions_pk(tenant)))

    report("chaos-investigations", tally_lines(
        f"chaos tally ({INVESTIGATIONS} investigations, {len(messages)} messages, seed {SEED})", {
            **{k: v for k, v in sorted(outcomes.items())},
            "chat.update calls answered ok": sum(1 for c in slack.calls_to("chat.update") if c.http_status == 200
                                                 and c.error is None),
            **{f"dead-letter queue: {k}": v for k, v in sorted(dead_reasons.items())},
            "unlabelled duplicates": len(unlabelled_duplicates),
            "stale content": len(stale_content),
            "lost": len(lost),
            "digest counters / distinct non-test investigations seen": f"{counters} / {counted}",
            "resolve durations / resolved non-test investigations": f"{sum(resolution_rows.values())} / "
                                                                   f"{len(resolved_seen)}",
        }) + "\n" + tally_lines("faults injected", dict(sorted(injected.items()))), capsys)

    assert lost == []
    assert stale_content == []
    assert counters == counted
    assert resolved_seen <= set(resolution_rows) <= resolved_seen | resolved_maybe
    assert set(resolution_rows.values()) <= {1}
    assert dead_reasons.get("invalid message", 0) == 25  # every malformed message, with its validation error
