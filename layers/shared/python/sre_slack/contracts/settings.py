"""Every environment variable the functions read, in one place.

template.yaml sets these; tests and the local sandbox derive them from the same template (localdev.aws).
Read lazily and cached so a function only pays for what it touches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_SLACK_AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"

# Bot scopes the app asks for: post only (chat:write.public lets it post to public channels without
# joining), list channels for the picker. Nothing that reads messages. Kept equal to slack-app-manifest.yaml.
BOT_SCOPES: tuple[str, ...] = ("chat:write", "chat:write.public", "channels:read", "groups:read")


class ConfigurationError(RuntimeError):
    """A required environment variable is missing: a deployment problem, not a request problem."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _optional(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class Settings:
    table_name: str
    kms_key_id: str
    slack_secret_arn: str
    portal_url: str
    slack_api_url: str
    slack_authorize_url: str
    oauth_redirect_url: str
    investigation_queue_url: str
    digest_queue_url: str
    idempotency_table_name: str
    # The dead-letter queue of the function's own source queue (messages set aside with a reason).
    dead_letter_queue_url: str

    @classmethod
    def from_env(cls) -> Settings:
        api_url = _optional("SLACK_API_URL", DEFAULT_SLACK_API_URL)
        return cls(
            table_name=_required("TABLE_NAME"),
            kms_key_id=_optional("KMS_KEY_ID"),
            slack_secret_arn=_optional("SLACK_SECRET_ARN"),
            portal_url=_optional("PORTAL_URL").rstrip("/"),
            # slack_sdk joins base_url and the method name by plain concatenation: keep the slash.
            slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
            slack_authorize_url=_optional("SLACK_AUTHORIZE_URL", DEFAULT_SLACK_AUTHORIZE_URL),
            oauth_redirect_url=_optional("OAUTH_REDIRECT_URL"),
            investigation_queue_url=_optional("INVESTIGATION_QUEUE_URL"),
            digest_queue_url=_optional("DIGEST_QUEUE_URL"),
            idempotency_table_name=_optional("IDEMPOTENCY_TABLE_NAME"),
            dead_letter_queue_url=_optional("DEAD_LETTER_QUEUE_URL"),
        )

    def require(self, field: str) -> str:
        """The value of an optional setting that this code path cannot do without."""
        value = getattr(self, field)
        if not value:
            raise ConfigurationError(f"setting {field} is not configured for this function")
        return value


_ENV_NAMES = ("TABLE_NAME", "KMS_KEY_ID", "SLACK_SECRET_ARN", "PORTAL_URL", "SLACK_API_URL", "SLACK_AUTHORIZE_URL",
              "OAUTH_REDIRECT_URL", "INVESTIGATION_QUEUE_URL", "DIGEST_QUEUE_URL", "IDEMPOTENCY_TABLE_NAME",
              "DEAD_LETTER_QUEUE_URL")


def get_settings() -> Settings:
    # Keyed by the variables' values: in Lambda they never change, but the local sandbox runs several
    # functions (each with its own environment) in one process.
    return _settings_for(tuple(os.environ.get(name) for name in _ENV_NAMES))


@lru_cache(maxsize=16)
def _settings_for(_key: tuple[str | None, ...]) -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    _settings_for.cache_clear()
