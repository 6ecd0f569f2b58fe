"""The local sandbox as one object: moto server, the template's resources, Slack stand-in, gateway, SQS pump and
stream pump (SlackTable's stream to the outbox publisher, which puts the outbound events on the engine bus, where
the sandbox subscribes a queue: `make engine-events`).

`make run` starts it in the foreground (localdev.run) and records its ports and tenant in RUNNING_FILE; CLIs such as
localdev.enqueue and localdev.digest_cli read them back (`running_sandbox`), so they reach the sandbox on whatever
LOCAL_*_PORT it was started with, and find its resources through the deterministic stack name.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from localdev.aws import DEFAULT_STACK_NAME, Deployment, deploy
from localdev.gateway import LocalGateway
from localdev.slack_standin import SlackStandIn
from localdev.sqs_pump import SqsPump
from localdev.stream_pump import StreamPump
from localdev.template import REPO_ROOT, Template
from sre_slack import container

REGION = "us-east-1"
DEFAULT_TENANT = "t_local"
# Written by `make run` while it runs (git ignores it).
RUNNING_FILE = REPO_ROOT / ".localdev-sandbox.json"
HOST = "127.0.0.1"
# The sandbox's stand-in for the engine's subscription: a rule on the engine bus delivering to this queue
# (`make engine-events` prints what arrived).
ENGINE_SUBSCRIBER = "engine-subscriber"

# Ports field -> (environment variable, default, what listens there).
PORT_SETTINGS: dict[str, tuple[str, int, str]] = {
    "gateway": ("LOCAL_GATEWAY_PORT", 3000, "HTTP API gateway"),
    "slack": ("LOCAL_SLACK_PORT", 3001, "Slack stand-in"),
    "portal": ("LOCAL_PORTAL_PORT", 3002, "portal stand-in"),
    "moto": ("LOCAL_MOTO_PORT", 5005, "AWS emulator, moto"),
}


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Ports:
    gateway: int = field(default_factory=lambda: _port(*PORT_SETTINGS["gateway"][:2]))
    slack: int = field(default_factory=lambda: _port(*PORT_SETTINGS["slack"][:2]))
    portal: int = field(default_factory=lambda: _port(*PORT_SETTINGS["portal"][:2]))
    moto: int = field(default_factory=lambda: _port(*PORT_SETTINGS["moto"][:2]))


@dataclass(frozen=True)
class RunningSandbox:
    """Where the `make run` sandbox listens and which tenant its portal stand-in installs for."""

    ports: Ports
    tenant_id: str = DEFAULT_TENANT
    # Where the moto port came from: "default", "environment" (LOCAL_MOTO_PORT) or "make run" (RUNNING_FILE).
    source: str = "default"


class SandboxNotRunning(SystemExit):
    """Nothing answers where the sandbox should: one line for the user instead of a botocore traceback."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        origin = {"environment": f" ({PORT_SETTINGS['moto'][0]})", "make run": " (the port `make run` recorded)"}
        super().__init__(f"the local sandbox is not running on {HOST}:{sandbox.ports.moto}"
                         f"{origin.get(sandbox.source, '')}: start it with `make run`")


class SandboxUnusable(SystemExit):
    """Something answers on the sandbox's port but does not hold the sandbox's resources."""

    def __init__(self, sandbox: RunningSandbox, missing: str) -> None:
        super().__init__(f"{HOST}:{sandbox.ports.moto} answers but holds no sandbox {missing} (another program on "
                         "that port?): restart `make run`, or set LOCAL_MOTO_PORT to the port it uses")


def record_running(ports: Ports, tenant_id: str, path: Path | None = None) -> None:
    """What `make run` leaves for the CLIs while it runs."""
    document = {"pid": os.getpid(), "tenant_id": tenant_id, "ports": {f.name: getattr(ports, f.name)
                                                                       for f in fields(Ports)}}
    (path or RUNNING_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def forget_running(path: Path | None = None) -> None:
    with contextlib.suppress(FileNotFoundError):
        (path or RUNNING_FILE).unlink()


def _recorded(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(document["pid"]), 0)  # a sandbox killed without cleaning up left a stale file
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return document if isinstance(document, dict) else {}


def running_sandbox(path: Path | None = None, environ: Mapping[str, str] | None = None) -> RunningSandbox:
    """The sandbox to talk to: a LOCAL_*_PORT set for this command wins, then what the running `make run` recorded,
    then the defaults."""
    environ = os.environ if environ is None else environ
    recorded = _recorded(path or RUNNING_FILE)
    recorded_ports = recorded.get("ports")
    if not isinstance(recorded_ports, dict):
        recorded_ports = {}
    values = {name: int(environ[variable]) if variable in environ else int(recorded_ports.get(name, default))
              for name, (variable, default, _what) in PORT_SETTINGS.items()}
    moto_variable = PORT_SETTINGS["moto"][0]
    source = "environment" if moto_variable in environ else ("make run" if "moto" in recorded_ports else "default")
    tenant = recorded.get("tenant_id")
    return RunningSandbox(Ports(**values), tenant if isinstance(tenant, str) and tenant else DEFAULT_TENANT, source)


def busy_ports(ports: Ports) -> list[str]:
    """One line per port another process already listens on, naming the variable that moves it."""
    lines = []
    for name, (variable, _default, what) in PORT_SETTINGS.items():
        port = getattr(ports, name)
        if _in_use(HOST, port):
            lines.append(f"port {port} ({what}) is already in use (another `make run`?): stop what holds it, or "
                         f"choose another port, e.g. {variable}={port + 100} make run")
    return lines


def _in_use(host: str, port: int) -> bool:
    # As the servers bind: SO_REUSEADDR, so a port only in TIME_WAIT is free.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def connect_to_running_sandbox(sandbox: RunningSandbox | None = None) -> RunningSandbox:
    """Point this process's boto3 (and the shared code's settings) at the running sandbox, or exit with one line
    that says how to start it."""
    sandbox = sandbox or running_sandbox()
    if not is_listening(HOST, sandbox.ports.moto):
        raise SandboxNotRunning(sandbox)
    use_local_aws(sandbox.ports)
    os.environ["TABLE_NAME"] = local_resource_name("SlackTable")
    container.reset()  # settings and clients made before this point knew other endpoints
    return sandbox


def local_resource_name(logical_id: str) -> str:
    """The sandbox's physical name of a template resource (localdev.aws names them `<stack>-<logical id>`)."""
    return f"{DEFAULT_STACK_NAME}-{logical_id}"


def use_local_aws(ports: Ports) -> None:
    """Point boto3 (in this process and the handlers it runs) at the moto server."""
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{ports.moto}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_DEV", "false")


@dataclass
class Sandbox:
    ports: Ports
    tenant_id: str
    template: Template
    deployment: Deployment
    slack: SlackStandIn
    gateway: LocalGateway
    pump: SqsPump
    streams: StreamPump

    @property
    def gateway_url(self) -> str:
        # localhost, not 127.0.0.1: browsers keep Secure cookies for http://localhost.
        return f"http://localhost:{self.ports.gateway}"

    def stop(self) -> None:
        self.streams.stop()
        self.pump.stop()
        self.gateway.stop()
        self.slack.stop()


def subscribe_to_engine_bus(deployment: Deployment) -> str:
    """A rule on the engine bus (`source` ai-sre.slack) with an SQS target, as the engine subscribes; its queue URL."""
    import boto3

    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    bus = deployment.outputs()["EngineEventBusName"]
    name = local_resource_name(ENGINE_SUBSCRIBER)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["ai-sre.slack"]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def start_sandbox(ports: Ports, *, tenant_id: str = "t_local") -> Sandbox:
    use_local_aws(ports)
    template = Template.load()
    slack = SlackStandIn(port=ports.slack, interactivity_url=f"http://127.0.0.1:{ports.gateway}/slack/interactions")
    slack.start()
    deployment = deploy(
        template,
        stack_name=DEFAULT_STACK_NAME,
        region=REGION,
        parameters={
            "PortalUrl": f"http://localhost:{ports.portal}",
            "JwtIssuer": "https://idp.local/",
            "JwtAudience": "sre-portal",
            "SlackApiUrl": slack.api_url,
            "SlackAuthorizeUrl": f"http://localhost:{ports.slack}/oauth/v2/authorize",
        },
        secret_values={"SlackCredentials": {"client_id": slack.client_id, "client_secret": slack.client_secret,
                                            "signing_secret": slack.signing_secret}},
    )
    gateway = LocalGateway(template, deployment, port=ports.gateway, dev_claims={"tenant_id": tenant_id,
                                                                                  "sub": "dev-user"}).start()
    # Failed messages come back after 5 s instead of the queue's 3 minutes, so retries can be watched.
    pump = SqsPump(template, deployment, failed_visibility_timeout=5).start()
    subscribe_to_engine_bus(deployment)
    streams = StreamPump(template, deployment).start()
    return Sandbox(ports, tenant_id, template, deployment, slack, gateway, pump, streams)
