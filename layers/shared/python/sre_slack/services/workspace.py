"""The tenant's Slack workspace as the portal's use cases reach it: an active bot token, and what a refused Slack
call means for the installation. The HTTP answers are sre_slack.api.slack_failures' business."""

from __future__ import annotations

from sre_slack.domain.delivery_policy import FailureClass
from sre_slack.observability import get_logger
from sre_slack.slack import directory
from sre_slack.slack.errors import SlackCallFailed, SlackFailure
from sre_slack.slack.tokens import TokenUnavailable, bot_token
from sre_slack.storage.installations import (
    Installation,
    InstallationStatus,
    mark_installation,
    mark_refused_by_slack,
)


class NotInstalled(Exception):
    """The tenant has no usable installation; `reason` says why it stopped working (None: never installed)."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "not installed")
        self.reason = reason


def active_token(installation: Installation | None) -> str:
    """The bot token of an active installation. Raises NotInstalled, or SlackCallFailed when a due refresh failed
    for now."""
    if installation is None:
        raise NotInstalled()
    if not installation.is_active:
        raise NotInstalled(installation.status_reason or str(installation.status))
    try:
        return bot_token(installation)
    except TokenUnavailable as exc:
        if not exc.permanent:
            raise SlackCallFailed(SlackFailure(FailureClass.TRANSIENT, "token_refresh_failed")) from exc
        mark_installation(installation.tenant_id, InstallationStatus.INACTIVE, exc.reason, drop_tokens=False)
        directory.forget(installation.tenant_id)
        raise NotInstalled(exc.reason) from exc


def refused(installation: Installation, failure: SlackFailure) -> Exception:
    """The exception to raise for a failed Slack call, after the bookkeeping it implies: Slack refusing the token
    marks the installation (posting stops too) and forgets its cached channels. A missing scope leaves the
    installation as it is: posting may still work, and only a reinstall grants the scope."""
    if failure.failure_class == FailureClass.INSTALLATION and failure.error != "missing_scope":
        status = mark_refused_by_slack(installation.tenant_id, failure.error)
        directory.forget(installation.tenant_id)
        get_logger().warning("Slack refused the installation's token", tenant_id=installation.tenant_id,
                             error=failure.error, status=str(status))
        return NotInstalled(failure.error)
    get_logger().warning("Slack call failed", tenant_id=installation.tenant_id, failure=failure.describe())
    return SlackCallFailed(failure)
