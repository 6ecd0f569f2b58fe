"""`GET /routing` and `PUT /routing`: the tenant's routing document (portal, JWT).

The bodies are the routing document of CONTRACT.md and nothing else, so the portal can GET, edit and PUT the
same object back (the strict model refuses unknown fields). When it was last changed travels in the
`Last-Modified` header. A PUT whose channels need attention answers the stored document plus `warnings`.
"""

from __future__ import annotations

import base64
import binascii
from email.utils import formatdate

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import ValidationError

from sre_slack.api.resolver import ApiError, json_response, tenant_id
from sre_slack.contracts.routing import RoutingDocument, validation_error_body
from sre_slack.services.routing_config import RoutingRejected, StoredRouting, save_routing, stored_routing

router = Router()


def _headers(stored: StoredRouting) -> dict[str, str] | None:
    if stored.updated_at is None:
        return None
    return {"Last-Modified": formatdate(stored.updated_at, usegmt=True)}


def _raw_body() -> bytes:
    event = router.current_event
    body = event.body
    if not body:
        raise ApiError(400, "invalid_body", "the request body is empty; a routing document (JSON) is expected")
    if not event.is_base64_encoded:
        return body.encode()
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "invalid_body", "the request body could not be decoded") from exc


@router.get("/routing")
def get_routing() -> Response:
    stored = stored_routing(tenant_id(router.current_event))
    return json_response(200, stored.document, headers=_headers(stored))


@router.put("/routing")
def put_routing() -> Response:
    tenant = tenant_id(router.current_event)
    try:
        # Strict JSON parsing in one step: no coercion, unknown fields refused, every error names its field.
        document = RoutingDocument.model_validate_json(_raw_body())
    except ValidationError as exc:
        return json_response(400, validation_error_body(exc))
    try:
        stored = save_routing(tenant, document)
    except RoutingRejected as exc:
        return json_response(400, exc.body())
    body = dict(stored.document)
    if stored.warnings:
        body["warnings"] = [warning.to_json() for warning in stored.warnings]
    return json_response(200, body, headers=_headers(stored))
