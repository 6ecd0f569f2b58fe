"""Fixtures of the chaos tier: emulated AWS (moto, resources from template.yaml) and the Slack stand-in."""

from tests.fixtures import aws, functions, slack, slack_server  # noqa: F401 - pytest finds fixtures by name
