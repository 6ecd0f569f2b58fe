"""Fixtures of this tier: emulated AWS (moto, resources from template.yaml), the Slack stand-in on loopback, and
the local API gateway that the stand-in's clicks reach."""

from collections.abc import Iterator

import pytest

from localdev.gateway import LocalGateway

# pytest finds fixtures by name
from tests.fixtures import TEMPLATE, aws, engine_bus, functions, slack, slack_server, streams  # noqa: F401


@pytest.fixture
def gateway(aws, slack) -> Iterator[LocalGateway]:  # noqa: F811
    """The template's HTTP API on loopback, set as the app's interactivity URL: stand-in clicks reach the handler."""
    with LocalGateway(TEMPLATE, aws, quiet=True) as served:
        slack.interactivity_url = f"{served.url}/slack/interactions"
        yield served
