"""The local sandbox as one object: moto server, the template's resources, Slack stand-in, gateway, SQS pump and
stream pump (SlackTable's stream to the outbox publisher, which puts the outbound events on the engine bus).

`make run` starts it in the foreground (localdev.run); CLIs such as localdev.enqueue find its resources
through the same well-known ports and the deterministic stack name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from localdev.aws import DEFAULT_STACK_NAME, Deployment, deploy
from localdev.gateway import LocalGateway
from localdev.slack_standin import SlackStandIn
from localdev.sqs_pump import SqsPump
from localdev.stream_pump import StreamPump
from localdev.template import Template

REGION = "us-east-1"
# The sandbox's stand-in for the engine's subscription: a rule on the engine bus delivering to this queue
# (`make engine-events` prints what arrived).
ENGINE_SUBSCRIBER = "engine-subscriber"


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Ports:
    gateway: int = field(default_factory=lambda: _port("LOCAL_GATEWAY_PORT", 3000))
    slack: int = field(default_factory=lambda: _port("LOCAL_SLACK_PORT", 3001))
    portal: int = field(default_factory=lambda: _port("LOCAL_PORTAL_PORT", 3002))
    moto: int = field(default_factory=lambda: _port("LOCAL_MOTO_PORT", 5005))


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
    name = f"{deployment.stack_name}-{ENGINE_SUBSCRIBER}"
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
