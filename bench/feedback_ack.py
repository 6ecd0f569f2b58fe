"""Feedback click ack time: how long the interactions handler takes to answer Slack, cold and warm.

    .venv/bin/python bench/feedback_ack.py [--cold-runs 5] [--warm 30]

Setup (not timed): moto server on loopback with the template's resources, the Slack stand-in, an active
installation and a posted investigation. Then, per cold run, a FRESH Python process (nothing imported yet)
imports functions/feedback/app.py (Lambda's INIT) and handles a signed click (the first invocation), then
handles `--warm` more clicks in the same process (warm invocations; the rating alternates so each one
writes the transaction and calls chat.update, the full path). One warm round clicks Needs Improvement, which
adds views.open. Every call crosses real loopback HTTP (DynamoDB, KMS, Secrets Manager via moto server,
Slack via the stand-in), so the figures include connection setup but measure emulators, not AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "layers" / "shared" / "python")]

CHILD = textwrap.dedent(r"""
    import importlib.util, json, os, sys, time
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location("feedback_app", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    imported = time.perf_counter()
    from localdev.lambda_context import LambdaContext
    events = json.loads(sys.stdin.read())
    timings = []
    for event in events:
        context = LambdaContext(function_name="feedback-bench", memory_limit_in_mb=512, timeout_seconds=10,
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:feedback-bench")
        began = time.perf_counter()
        answer = module.lambda_handler(event, context)
        timings.append(time.perf_counter() - began)
        assert answer["statusCode"] == 200, answer
    print(json.dumps({"import": imported - started, "invocations": timings}))
""")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--warm", type=int, default=30)
    args = parser.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    base_env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": endpoint, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_METRICS_NAMESPACE": "AiSre/Slack"}
    os.environ.update(base_env)

    from localdev.slack_standin import SlackStandIn

    slack = SlackStandIn().start()
    slack.trigger_lifetime = 3600  # triggers are issued up front here; Slack's 3 s is about the click itself
    try:
        events, function_env = _setup(slack)
        cold: list[float] = []
        cold_import: list[float] = []
        warm: list[float] = []
        for _ in range(args.cold_runs):
            batch = [_click_event(slack, events, i) for i in range(args.warm + 1)]
            result = _run_child({**os.environ, **function_env, **base_env}, batch)
            cold_import.append(result["import"])
            cold.append(result["import"] + result["invocations"][0])
            warm.extend(result["invocations"][1:])
    finally:
        slack.stop()
        server.stop()

    def ms(values: list[float], q: float) -> str:
        ordered = sorted(values)
        return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:7.1f} ms"

    print(f"feedback ack, {args.cold_runs} cold processes, {len(warm)} warm invocations (moto server + stand-in)")
    print(f"  cold (import + first click): median {statistics.median(cold) * 1000:7.1f} ms, "
          f"max {max(cold) * 1000:7.1f} ms")
    print(f"    of which import (INIT):    median {statistics.median(cold_import) * 1000:7.1f} ms")
    print(f"  warm click:                  median {statistics.median(warm) * 1000:7.1f} ms, p95 {ms(warm, 0.95)}, "
          f"max {max(warm) * 1000:7.1f} ms")
    print(f"  Slack's limit: 3000 ms; chat.update calls seen by the stand-in: {len(slack.calls_to('chat.update'))}, "
          f"views.open: {len(slack.calls_to('views.open'))}")
    return 0


def _setup(slack) -> tuple[dict, dict[str, str]]:
    import boto3
    from slack_sdk import WebClient

    from localdev.aws import deploy
    from localdev.template import Template
    from sre_slack import container
    from sre_slack.blocks.investigation import build_investigation_message
    from sre_slack.contracts.investigation import parse_investigation_message
    from sre_slack.contracts.settings import get_settings
    from sre_slack.services.installation import store_installation
    from sre_slack.storage import keys
    from sre_slack.storage.installations import Installation
    from sre_slack.storage.table import to_item

    template = Template.load()
    deployment = deploy(template, parameters={
        "PortalUrl": "https://portal.example.com", "JwtIssuer": "https://idp.example.com/", "JwtAudience": "sre",
        "SlackApiUrl": slack.api_url, "SlackAuthorizeUrl": slack.authorize_url,
    }, secret_values={"SlackCredentials": {"client_id": slack.client_id, "client_secret": slack.client_secret,
                                           "signing_secret": slack.signing_secret}})
    function_env = deployment.function_env("FeedbackFunction")
    os.environ.update(function_env)
    container.reset()
    slack.add_channel("C0ALERTS", "alerts", bot_member=True)
    token = slack.issue_token("T0LOCAL")
    store_installation(Installation(tenant_id="t_bench", team_id="T0LOCAL", team_name="Local", bot_user_id="U0BOT",
                                    scopes=("chat:write",), installed_at=int(time.time())),
                       bot_token=token, refresh_token=None)
    example = json.loads((REPO / "events" / "investigation_completed.json").read_text())
    inv = parse_investigation_message(json.dumps({**example, "tenant_id": "t_bench"}))
    boto3.client("dynamodb").put_item(TableName=get_settings().table_name,
                                      Item=to_item(keys.seen_key("t_bench", inv.investigation_id)))
    message = build_investigation_message(inv, tenant_id="t_bench")
    ts = WebClient(token=token, base_url=slack.api_url).chat_postMessage(channel="C0ALERTS",
                                                                         **message.as_kwargs())["ts"]
    return {"ts": ts, "channel": "C0ALERTS"}, function_env


def _click_event(slack, posted: dict, index: int) -> dict:
    from localdev.gateway import build_http_event
    from localdev.slack_standin_interactivity import signed_form

    message = slack.message(posted["channel"], posted["ts"])
    rating = "needs_improvement" if index == 3 else ("accurate", "partially_accurate")[index % 2]
    button = next(e for b in message.blocks if b.get("block_id") == "feedback" for e in b["elements"]
                  if e["action_id"] == f"feedback_{rating}")
    payload = {
        "type": "block_actions", "team": {"id": "T0LOCAL"}, "user": {"id": "U0ALICE", "username": "alice"},
        "channel": {"id": posted["channel"]},
        "container": {"message_ts": posted["ts"], "channel_id": posted["channel"]},
        "message": message.to_api(), "trigger_id": slack.issue_trigger("T0LOCAL", "U0ALICE"),
        "actions": [{"action_id": button["action_id"], "block_id": "feedback", "value": button["value"]}],
    }
    body, headers = signed_form(payload, slack.signing_secret)
    return build_http_event("POST", "/slack/interactions", headers=headers, body=body, is_base64=True)


def _run_child(env: dict[str, str], events: list[dict]) -> dict:
    env = {**env, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "layers" / "shared" / "python")])}
    done = subprocess.run([sys.executable, "-c", CHILD, str(REPO / "functions" / "feedback" / "app.py")],
                          input=json.dumps(events), capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    raise SystemExit(main())
