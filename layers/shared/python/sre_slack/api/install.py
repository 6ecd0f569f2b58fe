"""The install flow's routes: `POST /slack/install` (portal, JWT), `GET /slack/oauth/start` and
`GET /slack/oauth/callback` (the admin's browser). sre_slack.services.installation does the work."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.shared.cookies import Cookie

from sre_slack.api.resolver import ApiError, json_response, tenant_id
from sre_slack.observability import get_logger
from sre_slack.services import installation

router = Router()

_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _api_base_url() -> str:
    event = router.current_event
    proto = event.headers.get("x-forwarded-proto") or "https"
    return f"{proto}://{event.request_context.domain_name}"


def _redirect(location: str, *, cookie: Cookie | None = None) -> Response:
    return Response(status_code=302, headers={"Location": location, **_NO_STORE}, body="",
                    cookies=[cookie] if cookie else None)


@router.post("/slack/install")
def install() -> Response:
    tenant = tenant_id(router.current_event)
    get_logger().append_keys(tenant_id=tenant)
    return json_response(200, {"authorize_url": installation.begin_install(tenant, _api_base_url())},
                         headers=_NO_STORE)


@router.get("/slack/oauth/start")
def start() -> Response:
    state = router.current_event.get_query_string_value("state") or ""
    if not state:
        raise ApiError(400, "missing_state", "the install link is incomplete; start again from the portal")
    try:
        authorize_url, cookie = installation.open_authorize(state, _api_base_url())
    except installation.InstallError as exc:
        get_logger().warning("install link refused", reason=exc.reason)
        return _redirect(installation.InstallOutcome("error", exc.reason).portal_redirect())
    return _redirect(authorize_url, cookie=cookie)


@router.get("/slack/oauth/callback")
def callback() -> Response:
    event = router.current_event
    outcome = installation.complete_install(query=dict(event.query_string_parameters or {}),
                                            cookies=list(event.cookies or []), api_base_url=_api_base_url())
    return _redirect(outcome.portal_redirect(), cookie=installation.cleared_state_cookie())
