"""Every environment variable the functions read: one pydantic model, read once per container.

template.yaml sets these; tests and the local sandbox derive them from the same template (localdev.aws). Each
handler names the settings it cannot do without at INIT (`get_settings().check(...)`), so a deployment that
lacks one fails its first cold start with a clear message instead of a request half-way through.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_SLACK_AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"

# Bot scopes the app asks for: post only (chat:write.public lets it post to public channels without joining),
# list channels for the picker. Nothing that reads messages. Kept equal to slack-app-manifest.yaml.
BOT_SCOPES: tuple[str, ...] = ("chat:write", "chat:write.public", "channels:read", "groups:read")


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed: a deployment problem, not a request problem."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    kms_key_id: str = Field("", alias="KMS_KEY_ID")
    slack_secret_arn: str = Field("", alias="SLACK_SECRET_ARN")
    portal_url: str = Field("", alias="PORTAL_URL")
    slack_api_url: str = Field(DEFAULT_SLACK_API_URL, alias="SLACK_API_URL")
    slack_authorize_url: str = Field(DEFAULT_SLACK_AUTHORIZE_URL, alias="SLACK_AUTHORIZE_URL")
    oauth_redirect_url: str = Field("", alias="OAUTH_REDIRECT_URL")
    investigation_queue_url: str = Field("", alias="INVESTIGATION_QUEUE_URL")
    digest_queue_url: str = Field("", alias="DIGEST_QUEUE_URL")
    idempotency_table_name: str = Field("", alias="IDEMPOTENCY_TABLE_NAME")
    # The dead-letter queue of the function's own source queue (messages set aside with a reason).
    dead_letter_queue_url: str = Field("", alias="DEAD_LETTER_QUEUE_URL")
    # The source queue's maxReceiveCount: at that receive a record that would fail again is dead-lettered by us,
    # with its reason, instead of by SQS without one (0: unknown, SQS decides).
    max_receive_count: int = Field(0, alias="MAX_RECEIVE_COUNT", ge=0)
    # The EventBridge bus of the outbound events (CONTRACT.md, "Outbound events"); set for their publisher only.
    engine_event_bus_name: str = Field("", alias="ENGINE_EVENT_BUS_NAME")
    # The JWT claim that names the tenant (CONTRACT.md: `tenant_id`; a parameter for identity providers
    # that cannot use that name).
    jwt_tenant_claim: str = Field("tenant_id", alias="JWT_TENANT_CLAIM", min_length=1)

    @field_validator("portal_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack_sdk joins base_url and the method name by plain concatenation: keep the slash.
        value = value or DEFAULT_SLACK_API_URL
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_authorize_url")
    @classmethod
    def _authorize_default(cls, value: str) -> str:
        return value or DEFAULT_SLACK_AUTHORIZE_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        try:
            return cls.model_validate({name: value for name, value in source.items() if name.isupper()})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                                 for e in exc.errors(include_url=False, include_input=False))
            raise ConfigurationError(f"invalid function settings: {problems}") from None

    def require(self, name: str) -> str:
        """The value of a setting this code path cannot do without; raises ConfigurationError when unset."""
        self.check(name)
        return str(getattr(self, name))

    def check(self, *names: str) -> Settings:
        """Fail now (at INIT) unless every named setting is set."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            aliases = [type(self).model_fields[name].alias or name for name in missing]
            raise ConfigurationError(f"environment variable(s) {', '.join(aliases)} not set for this function")
        return self


@cache
def get_settings() -> Settings:
    """The container's settings. In Lambda the environment never changes; the local sandbox, which runs several
    functions in one process, clears this cache when it switches function."""
    return Settings.from_env()
