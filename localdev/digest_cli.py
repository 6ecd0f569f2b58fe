"""Run the daily digest now, for one tenant and one day, and print what it says.

    python -m localdev.digest_cli --tenant t_local --day 2026-11-26 [--seed-example]
        Against the running `make run` sandbox: (optionally) writes example counters for that tenant, puts a
        digest job on the sandbox's digest queue (the sandbox's SQS pump runs the real worker), prints the text
        rendering and where it was posted. The Slack stand-in shows the message.

    python -m localdev.digest_cli --in-process [--day 2026-11-26]
        Self-contained: moto in-process, a Slack stand-in, an installed tenant routed to #alerts, example
        counters; runs the worker function's handler once and prints the text and the posted message.

The counters are written exactly as the posting pipeline writes them (`TENANT#<t>#COUNTS` / `DAY#<day>`, flat
numeric attributes incremented with ADD); `record_alert` and `write_day_counts` are also what the tests and the
benchmark use to produce data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from localdev.digest_text import render_digest_text
from sre_slack.domain.digest_stats import SIGNATURE_PREFIX, build_digest, signature_name

EXAMPLE_TENANT = "t_local"
EXAMPLE_CHANNEL = "C0ALERTS"

# (severity, namespace or None, alert name, cluster) -> alerts per day, oldest day first (report day last).
# Memory alerts in payments go 3 -> 7, NodeDiskPressure is new on the report day, the certificate alert went quiet.
_EXAMPLE: dict[tuple[str, str | None, str, str], tuple[int, ...]] = {
    ("critical", "payments", "KubePodCrashLooping", "production-us-east"): (2, 1, 3, 2, 4, 2, 3, 5),
    ("warning", "payments", "ContainerMemoryNearLimit", "production-us-east"): (1, 2, 2, 3, 2, 4, 3, 7),
    ("warning", "checkout", "KubeHpaMaxedOut", "production-us-east"): (0, 1, 1, 0, 2, 1, 2, 1),
    ("info", "monitoring", "PrometheusRuleFailures", "staging-eu"): (3, 3, 2, 3, 3, 2, 3, 3),
    ("warning", "ingress", "CertificateExpiringSoon", "production-us-east"): (1, 1, 1, 1, 1, 1, 2, 0),
    ("critical", None, "NodeDiskPressure", "production-us-east"): (0, 0, 0, 0, 0, 0, 0, 2),
    ("warning", "kube-system", "KubeletTooManyPods", "staging-eu"): (1, 0, 0, 1, 0, 0, 1, 1),
}
# Feedback of the report day: accurate, partially accurate, needs improvement.
_EXAMPLE_RATINGS = {"accurate": 9, "partially_accurate": 3, "needs_improvement": 1}


def write_day_counts(tenant_id: str, day: date, counters: Mapping[str, int]) -> None:
    """Add these counters (`total`, `sev#critical`, `ns#payments`, ...) to the tenant's item of `day`."""
    from sre_slack.storage import keys
    from sre_slack.storage.table import table

    if counters:
        table().update(keys.counts_key(tenant_id, day), add=dict(counters))


def alert_counters(severity: str, namespace: str | None, alert: str, cluster: str, times: int = 1) -> dict[str, int]:
    """What one counted investigation adds (times `times`)."""
    counters = {"total": times, f"sev#{severity}": times, f"alert#{alert}": times, f"cluster#{cluster}": times,
                f"{SIGNATURE_PREFIX}#{signature_name(cluster, alert, namespace)}": times}
    if namespace:
        counters[f"ns#{namespace}"] = times
    return counters


def record_alert(tenant_id: str, day: date, *, severity: str, namespace: str | None, alert: str, cluster: str,
                 times: int = 1) -> None:
    write_day_counts(tenant_id, day, alert_counters(severity, namespace, alert, cluster, times))


def example_days(report_day: date) -> dict[date, dict[str, int]]:
    """The example counters of the eight days ending with `report_day`."""
    days: dict[date, dict[str, int]] = {}
    for offset in range(8):
        day = report_day - timedelta(days=7 - offset)
        merged: dict[str, int] = {}
        for (severity, namespace, alert, cluster), per_day in _EXAMPLE.items():
            if per_day[offset]:
                for name, n in alert_counters(severity, namespace, alert, cluster, per_day[offset]).items():
                    merged[name] = merged.get(name, 0) + n
        if offset == 7:
            merged |= {f"rating#{key}": n for key, n in _EXAMPLE_RATINGS.items()}
        days[day] = merged
    return days


# Investigations resolved on the report day: (alert name, minutes from firing to resolve).
_EXAMPLE_RESOLVED = (("KubePodCrashLooping", 12), ("ContainerMemoryNearLimit", 47), ("KubePodCrashLooping", 9),
                     ("NodeDiskPressure", 185), ("KubeHpaMaxedOut", 31))


def write_resolution(tenant_id: str, day: date, investigation_id: str, *, alert: str, seconds: int) -> None:
    """A resolved investigation's row as the resolve path writes it (sre_slack.storage.resolutions)."""
    from sre_slack.storage import keys
    from sre_slack.storage.table import table

    table().put({**keys.resolution_key(tenant_id, day, investigation_id), "investigation_id": investigation_id,
                 "seconds": seconds, "alert": alert})


def seed_example(tenant_id: str, report_day: date) -> None:
    for day, counters in example_days(report_day).items():
        write_day_counts(tenant_id, day, counters)
    for n, (alert, minutes) in enumerate(_EXAMPLE_RESOLVED):
        write_resolution(tenant_id, report_day, f"inv_example_{n}", alert=alert, seconds=minutes * 60)


def render_text(tenant_id: str, day: date) -> str:
    from sre_slack.storage import resolutions
    from sre_slack.storage.digest_counts import read_day_counts

    return render_digest_text(build_digest(day, read_day_counts(tenant_id, day),
                                           resolutions=resolutions.read_day(tenant_id, day)))


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


# ------------------------------------------------------------------------------------------------ sandbox


def run_against_sandbox(tenant_id: str | None, day: date, *, seed: bool, wait_seconds: float = 15.0) -> int:
    import boto3
    from botocore.exceptions import ClientError, EndpointConnectionError

    from localdev.sandbox import REGION, SandboxNotRunning, SandboxUnusable, connect_to_running_sandbox

    # The ports and the tenant `make run` was started with; one line instead of a traceback when it is not running.
    sandbox = connect_to_running_sandbox()
    try:
        return _digest_in_sandbox(tenant_id or sandbox.tenant_id, day, seed=seed, wait_seconds=wait_seconds,
                                  sqs=boto3.client("sqs", region_name=REGION))
    except EndpointConnectionError:
        raise SandboxNotRunning(sandbox) from None
    except ClientError as exc:  # no such table or queue: not the sandbox's moto
        raise SandboxUnusable(sandbox, "table or digest queue") from exc


def _digest_in_sandbox(tenant_id: str, day: date, *, seed: bool, wait_seconds: float, sqs: Any) -> int:
    from localdev.sandbox import local_resource_name
    from sre_slack.contracts.digest import DigestJob
    from sre_slack.services.digest import marker_key
    from sre_slack.storage import ledger
    from sre_slack.storage.tenant_config import load_tenant_config

    if seed:
        seed_example(tenant_id, day)
        print(f"example counters written for {tenant_id}, {day - timedelta(days=7)} .. {day}")
    print(render_text(tenant_id, day), end="\n\n")

    from sre_slack.domain.routing import resolve_digest_channels

    config = load_tenant_config(tenant_id)
    channels = resolve_digest_channels(config.routing) if config.routing_raw is not None else ()
    queue_url = sqs.get_queue_url(QueueName=local_resource_name("DigestQueue"))["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=DigestJob(tenant_id=tenant_id, day=day).to_body())
    print(f"digest job enqueued for {tenant_id}, {day}")
    if config.installation is None or not channels:
        print("note: the tenant has no installation or no digest/default channels; the worker will skip it "
              "(install from the portal stand-in and PUT /routing first)")
        return 0
    deadline = time.monotonic() + wait_seconds
    pending = set(channels)
    while pending and time.monotonic() < deadline:
        for channel in sorted(pending):
            marker = ledger.get(marker_key(tenant_id, day, channel), channel)
            if marker and marker.status != "posting":
                print(f"{channel}: {marker.status} {marker.ts or marker.reason or ''}".rstrip())
                pending.discard(channel)
        time.sleep(0.5)
    for channel in sorted(pending):
        print(f"{channel}: no result yet (is `make run` running?)")
    return 0 if not pending else 1


# ------------------------------------------------------------------------------------------------ in process


def run_in_process(day: date, *, tenant_id: str = EXAMPLE_TENANT) -> int:
    from localdev.handlers import LocalFunctions
    from localdev.in_process import in_process_sandbox
    from localdev.sqs_pump import sqs_record
    from sre_slack.contracts.digest import DigestJob

    with in_process_sandbox(["DigestWorkerFunction"]) as sandbox:
        slack, deployment, template = sandbox.slack, sandbox.deployment, sandbox.template
        install_example_tenant(slack, tenant_id, channel=EXAMPLE_CHANNEL)
        seed_example(tenant_id, day)
        print(render_text(tenant_id, day), end="\n\n")

        now_ms = str(int(time.time() * 1000))
        sqs_message = {"MessageId": "local-1", "ReceiptHandle": "local-1", "MD5OfBody": "",
                       "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": now_ms, "SenderId": "local",
                                      "ApproximateFirstReceiveTimestamp": now_ms},
                       "Body": DigestJob(tenant_id=tenant_id, day=day).to_body()}
        event = {"Records": [sqs_record(sqs_message, queue_arn=deployment.queue_arn("DigestQueue"),
                                        region=deployment.region)]}
        result = LocalFunctions(template, deployment).invoke("DigestWorkerFunction", event)
        posted = slack.messages(EXAMPLE_CHANNEL)
        if result.get("batchItemFailures") or not posted:
            print(f"the digest was not posted: {json.dumps(result)}", file=sys.stderr)
            return 1
        message = posted[-1]
        print(f"posted to #{slack.channel(EXAMPLE_CHANNEL)['name']} ({EXAMPLE_CHANNEL}) ts={message.ts}")
        print(f"notification text: {message.text}")
        print(f"{len(message.blocks)} blocks, {len(json.dumps(message.blocks))} characters of Block Kit JSON")
    return 0


def install_example_tenant(slack: Any, tenant_id: str, *, channel: str, team_id: str = "T0LOCAL") -> None:
    """An active installation (token issued by the stand-in) routing the digest to `channel`."""
    from sre_slack.services.installation import store_installation
    from sre_slack.storage.installations import Installation
    from sre_slack.storage.tenant_config import put_routing

    token = slack.issue_token(team_id)
    store_installation(
        Installation(tenant_id=tenant_id, team_id=team_id, team_name="Local Dev Workspace", bot_user_id="U0BOT",
                     scopes=("chat:write", "chat:write.public", "channels:read", "groups:read"),
                     installed_at=int(time.time())),
        bot_token=token, refresh_token=None,
    )
    put_routing(tenant_id, {"default_channels": [channel], "digest_channels": [], "routes": []})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenant", default=None,
                        help=f"default: the tenant `make run` was started with ({EXAMPLE_TENANT} in process)")
    parser.add_argument("--day", type=date.fromisoformat, default=None, help="UTC day to report (default: yesterday)")
    parser.add_argument("--seed-example", action="store_true", help="write example counters first (sandbox mode)")
    parser.add_argument("--in-process", action="store_true", help="no sandbox needed: moto + stand-in in-process")
    args = parser.parse_args(argv)
    day = args.day or _yesterday()
    from localdev.handlers import ensure_layers_on_path
    from localdev.template import Template

    ensure_layers_on_path(Template.load())  # sre_slack lives in the shared layer, as in Lambda
    if args.in_process:
        return run_in_process(day, tenant_id=args.tenant or EXAMPLE_TENANT)
    return run_against_sandbox(args.tenant, day, seed=args.seed_example)


if __name__ == "__main__":
    sys.exit(main())
