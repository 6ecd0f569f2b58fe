"""The Slack app credentials secret (CONTRACT.md): {"client_id", "client_secret", "signing_secret"}.

Read through Powertools Parameters, which caches the value for five minutes so a warm container does not call
Secrets Manager on every request, yet picks up a rotated secret without a redeploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

from sre_slack import container
from sre_slack.aws import BOTO_CONFIG
from sre_slack.contracts.settings import ConfigurationError, get_settings

MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class SlackCredentials:
    client_id: str
    client_secret: str
    signing_secret: str

    def __repr__(self) -> str:  # never print secrets, even by accident in a traceback
        return f"SlackCredentials(client_id={self.client_id!r}, client_secret=***, signing_secret=***)"


@cache
def _provider() -> SecretsProvider:
    # Created on first use: building it creates a Secrets Manager client, which most invocations never need.
    return SecretsProvider(boto_config=BOTO_CONFIG)


def get_slack_credentials() -> SlackCredentials:
    """The app's credentials, or ConfigurationError when the operator has not filled the secret yet."""
    value = _provider().get(get_settings().require("slack_secret_arn"), transform="json", max_age=MAX_AGE_SECONDS)
    if not isinstance(value, dict):
        raise ConfigurationError("the Slack credentials secret is not a JSON object")
    missing = [k for k in ("client_id", "client_secret", "signing_secret") if not value.get(k)]
    if missing:
        raise ConfigurationError(f"the Slack credentials secret lacks {', '.join(missing)} (README: Deploying)")
    return SlackCredentials(value["client_id"], value["client_secret"], value["signing_secret"])


@container.keeps
def forget() -> None:
    """Drop the cached secret and its client (a fresh container, e.g. after a SnapStart restore)."""
    _provider.cache_clear()
