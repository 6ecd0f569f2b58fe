"""The Slack app credentials secret (CONTRACT.md): {"client_id", "client_secret", "signing_secret"}.

Read through Powertools Parameters, which caches the value for a few minutes so a warm container does not
call Secrets Manager on every request, yet picks up a rotated secret without a redeploy.
"""

from __future__ import annotations

from dataclasses import dataclass

from sre_slack.contracts.settings import ConfigurationError, get_settings

_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class SlackCredentials:
    client_id: str
    client_secret: str
    signing_secret: str

    def __repr__(self) -> str:  # never print secrets, even by accident in a traceback
        return f"SlackCredentials(client_id={self.client_id!r}, client_secret=***, signing_secret=***)"


def get_slack_credentials() -> SlackCredentials:
    from aws_lambda_powertools.utilities import parameters

    arn = get_settings().require("slack_secret_arn")
    value = parameters.get_secret(arn, transform="json", max_age=_MAX_AGE_SECONDS)
    if not isinstance(value, dict):
        raise ConfigurationError("the Slack credentials secret is not a JSON object")
    missing = [k for k in ("client_id", "client_secret", "signing_secret") if not value.get(k)]
    if missing:
        raise ConfigurationError(f"the Slack credentials secret lacks {', '.join(missing)} (README: Deploying)")
    return SlackCredentials(value["client_id"], value["client_secret"], value["signing_secret"])


def clear_cache() -> None:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # drops the cached providers (and their boto3 clients) too
