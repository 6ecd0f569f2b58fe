"""`GET /slack/channels`: the channels the portal's picker offers (portal, JWT)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import json_response, tenant_id
from sre_slack.services.routing_config import channel_picker

router = Router()

_TRUE = frozenset({"1", "true", "yes"})


@router.get("/slack/channels")
def list_channels() -> Response:
    event = router.current_event
    refresh = (event.get_query_string_value("refresh") or "").strip().lower() in _TRUE
    return json_response(200, channel_picker(tenant_id(event), refresh=refresh))
