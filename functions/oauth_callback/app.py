"""Slack install flow: POST /slack/install (portal), GET /slack/oauth/start and /slack/oauth/callback (browser)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.cookies import Cookie
from aws_lambda_powertools.utilities.typing import LambdaContext

from sre_slack.api.resolver import ApiError, json_response, new_resolver, tenant_id
from sre_slack.observability import get_logger
from sre_slack.services import installation as install_flow
from sre_slack.storage.oauth_state import StateError

logger = get_logger()
app = new_resolver()

_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _api_base_url() -> str:
    event = app.current_event
    proto = event.headers.get("x-forwarded-proto") or "https"
    return f"{proto}://{event.request_context.domain_name}"


def _redirect(location: str, *, cookie: Cookie | None = None) -> Response:
    return Response(status_code=302, headers={"Location": location, **_NO_STORE}, body="",
                    cookies=[cookie] if cookie else None)


@app.post("/slack/install")
def install() -> Response:
    tenant = tenant_id(app.current_event)
    logger.append_keys(tenant_id=tenant)
    return json_response(200, {"authorize_url": install_flow.begin_install(tenant, _api_base_url())}, headers=_NO_STORE)


@app.get("/slack/oauth/start")
def start() -> Response:
    state = app.current_event.get_query_string_value("state") or ""
    if not state:
        raise ApiError(400, "missing_state", "the install link is incomplete; start again from the portal")
    try:
        authorize_url, cookie = install_flow.open_authorize(state, _api_base_url())
    except (StateError, install_flow.InstallError) as exc:
        logger.warning("install link refused", reason=exc.reason)
        return _redirect(install_flow.InstallOutcome("error", exc.reason).portal_redirect())
    return _redirect(authorize_url, cookie=cookie)


@app.get("/slack/oauth/callback")
def callback() -> Response:
    event = app.current_event
    outcome = install_flow.complete_install(
        query=dict(event.query_string_parameters or {}),
        cookies=list(event.cookies or []),
        api_base_url=_api_base_url(),
    )
    return _redirect(outcome.portal_redirect(), cookie=install_flow.clear_state_cookie())


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
