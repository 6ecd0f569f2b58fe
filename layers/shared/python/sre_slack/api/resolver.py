"""API Gateway HTTP API (payload 2.0) plumbing shared by the HTTP functions: a Powertools resolver whose failures
are JSON errors, the tenant from the JWT, JSON bodies.

Errors follow CONTRACT.md: JSON `{"error": "<code>", "message": "<human text>"}` with a 4xx status. The tenant
comes from the JWT authorizer's claim (`tenant_id`, or JWT_TENANT_CLAIM) only, never from the body or the path.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}


def json_response(status: int, body: Any, *, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json",
                    body=json.dumps(body, separators=(",", ":"), default=str), headers=headers)


def error_response(status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                   extra: dict[str, Any] | None = None) -> Response:
    return json_response(status, {"error": code, "message": message, **(extra or {})}, headers=headers)


def tenant_id(event: APIGatewayProxyEventV2) -> str:
    authorizer = event.request_context.authorizer
    claims = authorizer.jwt_claim if authorizer else None
    claim = get_settings().jwt_tenant_claim
    tenant = (claims or {}).get(claim)
    if not isinstance(tenant, str) or not tenant.strip():
        # The authorizer let the request in, but the identity provider did not put a tenant in the token.
        raise ApiError(403, "no_tenant", f"the access token carries no {claim} claim")
    return tenant.strip()


def parse_json_body(event: APIGatewayProxyEventV2) -> Any:
    body = event.decoded_body
    if not body:
        raise ApiError(400, "invalid_body", "the request body is empty; a JSON document is expected")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_body", f"the request body is not valid JSON: {exc}") from exc


def new_resolver() -> APIGatewayHttpResolver:
    """A resolver whose failures are JSON errors, never a stack trace."""
    app = APIGatewayHttpResolver()
    logger = get_logger()

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers, extra=exc.extra)

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return error_response(404, "not_found", "no such route")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "something went wrong on our side; it has been logged")

    return app


