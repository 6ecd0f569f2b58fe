"""Fixtures of this tier: emulated AWS (moto, resources from template.yaml) and the Slack stand-in on loopback."""

# pytest finds fixtures by name
from tests.fixtures import aws, engine_bus, functions, slack, slack_server, streams  # noqa: F401
