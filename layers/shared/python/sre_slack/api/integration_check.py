"""Routes for test integration (portal, JWT): `POST /clusters/{cluster}/test`.

Preflight first, so the portal can say precisely what to fix instead of a sample that silently goes nowhere:
the installation is active, the routing sends this cluster's alerts somewhere, and the bot can post in every
one of those channels (asked with conversations.info: public channels take posts through chat:write.public,
private ones need the bot as a member). Then a sample investigation marked `test: true` is enqueued on the
real investigation queue and travels the same path as a real one. A channel that passes the preflight loses
its "failing" mark, so posting resumes there.

Answers: 202 `{"investigation_id", "channels"}`; 409 `{"error", "message", ...}` with one of
`not_installed`, `installation_inactive`, `no_routing`, `no_channel_for_cluster`, `channel_not_found`,
`channel_archived`, `bot_not_in_channel`, `missing_scope`; 503 when Slack is rate limiting or unavailable, or
the investigation queue refuses the sample (`queue_unavailable`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import ApiError, json_response, tenant_id
from sre_slack.observability import get_logger

router = Router()

MAX_CLUSTER_LENGTH = 255


@router.post("/clusters/<cluster>/test")
def start_integration_check(cluster: str) -> Response:
    tenant = tenant_id(router.current_event)
    cluster = unquote(cluster).strip()
    if not cluster or len(cluster) > MAX_CLUSTER_LENGTH:
        raise ApiError(400, "invalid_cluster", "the cluster name must be 1-255 characters")
    workspace = _workspace(router.current_event.decoded_body)
    channels = preflight(tenant, cluster, workspace)
    investigation_id = enqueue_sample(tenant, cluster, workspace)
    get_logger().info("test investigation enqueued", tenant_id=tenant, investigation_id=investigation_id,
                      channels=list(channels))
    return json_response(202, {"investigation_id": investigation_id, "channels": list(channels)})


def _workspace(body: str | None) -> str | None:
    """Optional `{"workspace": "..."}`: lets a workspace route be tested too. No body is fine."""
    if not body or not body.strip():
        return None
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, "invalid_body", "the request body is not valid JSON") from exc
    workspace = document.get("workspace") if isinstance(document, dict) else None
    if workspace is not None and (not isinstance(workspace, str) or not workspace.strip()):
        raise ApiError(400, "invalid_body", "workspace must be a non-empty string")
    return workspace


def _conflict(code: str, message: str, **extra: Any) -> ApiError:
    return ApiError(409, code, message, extra=extra)


def preflight(tenant: str, cluster: str, workspace: str | None) -> tuple[str, ...]:
    """The channels a sample for `cluster` goes to, once each is known to accept the bot's posts."""
    from sre_slack.domain.routing import resolve_channels
    from sre_slack.domain.sample_investigation import SAMPLE_SEVERITY
    from sre_slack.storage.tenant_config import load_tenant_config

    config = load_tenant_config(tenant)
    installation = config.installation
    if installation is None:
        raise _conflict("not_installed", "Slack is not connected: install the app first")
    if not installation.is_active:
        raise _conflict("installation_inactive",
                        f"the Slack installation is {installation.status} ({installation.status_reason}); "
                        "reinstall the app", status=str(installation.status))
    if config.routing is None:
        raise _conflict("no_routing", "no routing is configured: choose the channels alerts go to")
    decision = resolve_channels(config.routing, cluster=cluster, workspace=workspace, severity=SAMPLE_SEVERITY)
    if not decision.channels:
        raise _conflict("no_channel_for_cluster",
                        f"the routing sends no {SAMPLE_SEVERITY} alerts of cluster {cluster!r} to any channel "
                        "(no matching route and no default channels)", cluster=cluster)
    _check_channels(config, decision.channels)
    return decision.channels


def _check_channels(config: Any, channels: tuple[str, ...]) -> None:
    from slack_sdk.errors import SlackApiError

    from sre_slack.slack.client import read_client
    from sre_slack.slack.errors import FailureClass, classify
    from sre_slack.slack.tokens import TokenUnavailable, bot_token
    from sre_slack.storage.installations import mark_refused_by_slack
    from sre_slack.storage.tenant_config import clear_channel_health

    installation = config.installation
    try:
        client = read_client(bot_token(installation))
    except TokenUnavailable as exc:
        raise _conflict("installation_inactive", f"no usable Slack token: {exc.reason}; reinstall the app") from exc
    can_post_public = "chat:write.public" in installation.scopes
    for channel_id in channels:
        try:
            info = client.conversations_info(channel=channel_id)["channel"]
        except SlackApiError as exc:
            failure = classify(exc)
            if failure.error == "channel_not_found":
                raise _conflict("channel_not_found", f"channel {channel_id} does not exist or is private without "
                                "the bot in it; invite the bot or change the routing", channel=channel_id) from exc
            if failure.error == "missing_scope":
                raise _conflict("missing_scope", "the app lacks a permission it needs; reinstall it to grant "
                                "the current scopes", channel=channel_id) from exc
            if failure.failure_class == FailureClass.INSTALLATION:
                mark_refused_by_slack(config.tenant_id, failure.error)
                raise _conflict("installation_inactive", f"Slack refused the app's token ({failure.error}); "
                                "reinstall the app") from exc
            if failure.failure_class == FailureClass.RATE_LIMITED:
                raise ApiError(503, "slack_rate_limited", "Slack is rate limiting us; try again shortly",
                               headers={"Retry-After": str(failure.retry_after or 30)}) from exc
            raise ApiError(503, "slack_unavailable", f"Slack could not be reached ({failure.error}); try again",
                           headers={"Retry-After": "5"}) from exc
        except Exception as exc:  # connection trouble
            raise ApiError(503, "slack_unavailable", "Slack could not be reached; try again",
                           headers={"Retry-After": "5"}) from exc
        name = info.get("name") or channel_id
        if info.get("is_archived"):
            raise _conflict("channel_archived", f"channel #{name} is archived; unarchive it or change the routing",
                            channel=channel_id)
        if not info.get("is_member"):
            if info.get("is_private"):
                raise _conflict("bot_not_in_channel", f"the bot is not a member of the private channel #{name}; "
                                "invite it with /invite @AI SRE", channel=channel_id)
            if not can_post_public:
                raise _conflict("bot_not_in_channel", f"the bot is not a member of #{name} and lacks "
                                "chat:write.public; invite it or reinstall the app", channel=channel_id)
        if channel_id in config.channel_health:
            clear_channel_health(config.tenant_id, channel_id)


def enqueue_sample(tenant: str, cluster: str, workspace: str | None) -> str:
    from sre_slack.aws import sqs
    from sre_slack.contracts.settings import get_settings
    from sre_slack.domain.sample_investigation import sample_investigation

    settings = get_settings()
    portal = f"{settings.portal_url}/integrations/slack" if settings.portal_url else None
    message = sample_investigation(tenant, cluster, workspace=workspace, portal_url=portal)
    try:
        sqs().send_message(QueueUrl=settings.require("investigation_queue_url"), MessageBody=json.dumps(message))
    except Exception as exc:  # the portal must not announce a sample that will never arrive
        get_logger().exception("test investigation could not be enqueued", tenant_id=tenant)
        raise ApiError(503, "queue_unavailable", "the test could not be started; try again shortly",
                       headers={"Retry-After": "5"}) from exc
    return str(message["investigation_id"])
