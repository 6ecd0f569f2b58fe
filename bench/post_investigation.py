"""post_investigation: requests and Slack calls per posted investigation, batch parallelism, memory.

    .venv/bin/python bench/post_investigation.py [--latency 0.1]

Cold start is measured on the built artifact by bench/cold_start.py (what Lambda runs), not here.

1. Requests per posted investigation: one `investigation.completed` to one channel, handled by the real
   handler against moto and the Slack stand-in. DynamoDB requests are counted with a botocore
   `before-call.dynamodb` event hook, Slack calls by the stand-in (goal: DynamoDB <= 3, Slack exactly 1).
2. A batch of 10 investigations to 10 different channels with the stand-in answering after `--latency`
   seconds: one invocation with the whole batch vs. ten invocations of one record each, one after another
   (goal >= 5x faster).
3. Peak RSS of this whole bench process (moto and the stand-in included).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

from measures import print_measures

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "layers" / "shared" / "python")]
HANDLER = REPO / "functions" / "post_investigation" / "app.py"
FUNCTION = "PostInvestigationFunction"

MOTO_SERVER = textwrap.dedent(r"""
    import sys
    from werkzeug.serving import run_simple
    from moto.server import DomainDispatcherApplication, create_backend_app
    run_simple("127.0.0.1", int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
""")


def _start_moto_server() -> subprocess.Popen:
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-c", MOTO_SERVER, str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    os.environ["AWS_ENDPOINT_URL"] = url
    return process


class Sandbox:
    """moto (in-process) with the template's resources, the Slack stand-in, an installed tenant."""

    def __init__(self) -> None:
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            os.environ.pop(name, None)
        os.environ |= {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
                       "POWERTOOLS_METRICS_NAMESPACE": "AiSre/Slack", "POWERTOOLS_LOG_LEVEL": "ERROR",
                       "POWERTOOLS_METRICS_DISABLED": "true"}
        import logging

        from localdev.aws import deploy
        from localdev.handlers import LocalFunctions
        from localdev.slack_standin import SlackStandIn
        from localdev.template import Template

        if not os.environ.get("BENCH_DEBUG"):
            logging.disable(logging.WARNING)
        # moto in its own process, answering one request at a time (it is not thread-safe; DynamoDB is, per
        # request): the handler's threads overlap their waits on it as they would on AWS.
        self.moto = _start_moto_server()
        self.slack = SlackStandIn().start()
        self.template = Template.load()
        self.aws = deploy(self.template, parameters={
            "PortalUrl": "https://portal.example.com", "JwtIssuer": "https://idp.example.com/",
            "JwtAudience": "sre-portal", "SlackApiUrl": self.slack.api_url,
            "SlackAuthorizeUrl": self.slack.authorize_url,
        }, secret_values={"SlackCredentials": {"client_id": self.slack.client_id,
                                               "client_secret": self.slack.client_secret,
                                               "signing_secret": self.slack.signing_secret}})
        for logical_id in self.template.functions():
            os.environ |= self.aws.function_env(logical_id)
        self.functions = LocalFunctions(self.template, self.aws)
        from tests.support import run_install

        run_install(self.functions, self.slack, tenant="t_bench")
        self.dynamodb_calls: Counter[str] = Counter()
        import boto3

        boto3.DEFAULT_SESSION.events.register("before-call.dynamodb", self._count)  # type: ignore[union-attr]
        from sre_slack import container

        container.reset()  # clients created from now on carry the hook

    def _count(self, model, **_: object) -> None:
        self.dynamodb_calls[model.name] += 1

    def route(self, channels: dict[str, str]) -> None:
        """cluster -> channel routes; creates the channels."""
        from sre_slack.storage.tenant_config import put_routing

        for channel in channels.values():
            self.slack.add_channel(channel, channel.lower())
        put_routing("t_bench", {"routes": [{"cluster": c, "channels": [ch]} for c, ch in channels.items()]})

    def event(self, messages: list[dict]) -> dict:
        import boto3

        from localdev.sqs_pump import sqs_record

        sqs = boto3.client("sqs")
        url = self.aws.queue_url("InvestigationQueue")
        for message in messages:
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
        received: list[dict] = []
        while len(received) < len(messages):
            received += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                            MessageSystemAttributeNames=["All"]).get("Messages", [])
        arn = self.aws.queue_arn("InvestigationQueue")
        return {"Records": [sqs_record(m, queue_arn=arn, region=self.aws.region) for m in received]}

    def invoke(self, event: dict) -> dict:
        answer = self.functions.invoke(FUNCTION, event)
        assert answer["batchItemFailures"] == [], answer
        return answer


def investigation(investigation_id: str, cluster: str) -> dict:
    message = json.loads((REPO / "events" / "investigation_completed.json").read_text())
    return message | {"investigation_id": investigation_id, "tenant_id": "t_bench", "cluster": cluster}


def measure_requests(box: Sandbox) -> tuple[int, dict[str, int], int]:
    box.route({"cluster-one": "C0ONE"})
    event = box.event([investigation("inv_bench_one", "cluster-one")])
    box.functions.handler(FUNCTION)  # import outside the measured invocation
    box.dynamodb_calls.clear()
    slack_before = len(box.slack.calls)
    box.invoke(event)
    slack_calls = len(box.slack.calls) - slack_before
    return sum(box.dynamodb_calls.values()), dict(box.dynamodb_calls), slack_calls


def measure_batch(box: Sandbox, latency: float) -> tuple[float, float]:
    clusters = {f"batch-{i}": f"C0BATCH{i}" for i in range(10)}
    box.route(clusters)
    box.slack.set_latency(latency, "chat.postMessage")
    parallel_event = box.event([investigation(f"inv_par_{i}", c) for i, c in enumerate(clusters)])
    started = time.perf_counter()
    box.invoke(parallel_event)
    parallel = time.perf_counter() - started
    single_events = [box.event([investigation(f"inv_seq_{i}", c)]) for i, c in enumerate(clusters)]
    started = time.perf_counter()
    for event in single_events:
        box.invoke(event)
    sequential = time.perf_counter() - started
    box.slack.set_latency(0)
    return parallel, sequential


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()

    box = Sandbox()
    dynamodb_total, by_operation, slack_calls = measure_requests(box)
    parallel, sequential = measure_batch(box, args.latency)
    bench_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rows = [
        ("DynamoDB requests per posted investigation", f"{dynamodb_total} "
         f"({', '.join(f'{k} {v}' for k, v in sorted(by_operation.items()))})", "<= 3"),
        ("Slack calls per posted investigation", str(slack_calls), "exactly 1"),
        (f"10 messages -> 10 channels, Slack latency {args.latency * 1000:.0f} ms",
         f"batch {parallel:.2f} s vs one by one {sequential:.2f} s = {sequential / parallel:.1f}x", ">= 5x"),
        ("peak RSS: this bench process (moto + stand-in)", f"{bench_rss:.0f} MB", "-"),
    ]
    print_measures(rows)
    box.slack.stop()
    box.moto.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
