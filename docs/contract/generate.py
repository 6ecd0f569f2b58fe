"""Writes the published contract's machine-readable half (docs/contract/) from the code: `make contract`.

    python docs/contract/generate.py          write openapi.json and schemas/
    python docs/contract/generate.py --check  exit 1, naming the files, when one is not what the code generates

Every body schema comes from the pydantic models of sre_slack.contracts (`model_json_schema`); the routes, their
methods and which of them sit behind the JWT authorizer come from template.yaml; what each route answers, error
codes included, is written below beside the code that answers it. The output is deterministic (sorted keys, two
spaces, a trailing newline), so a stale file shows up as a diff and tests/unit/test_contract_files.py fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "layers" / "shared" / "python")]

from pydantic import BaseModel  # noqa: E402
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema  # noqa: E402

from localdev.template import HttpApiRoute, Template  # noqa: E402
from sre_slack.contracts import http_api as api  # noqa: E402
from sre_slack.contracts.engine_events import ENGINE_EVENTS, SOURCE  # noqa: E402
from sre_slack.contracts.investigation import SAFE_ID_PATTERN, AlertResolved, InvestigationCompleted  # noqa: E402
from sre_slack.contracts.routing import MAX_NAME_LENGTH, NAME_PATTERN, RoutingDocument  # noqa: E402

OUT = REPO / "docs" / "contract"
OPENAPI = "openapi.json"
SCHEMAS = "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
COMMAND = "make contract"

Json = dict[str, Any]


class _Schema(GenerateJsonSchema):
    """pydantic's schemas without a title on every field (`"title": "Investigation Id"` says nothing)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


# ------------------------------------------------------------------------------------------------ JSON Schemas


def standalone_schema(model: type[BaseModel], mode: JsonSchemaMode, description: str | None = None) -> Json:
    schema = model.model_json_schema(mode=mode, schema_generator=_Schema)
    if description:
        schema["description"] = f"{description}\n\n{schema['description']}" if "description" in schema else description
    return {"$schema": DIALECT, **schema}


def message_schemas() -> dict[str, Json]:
    """The investigation queue's messages (CONTRACT.md "SQS message"), as the consumer validates them."""
    sqs = "One message body on the investigation queue (CONTRACT.md \"SQS message\", version 1). Unknown fields " \
          "are ignored at every level; optional fields may also be null."
    return {
        f"{SCHEMAS}/sqs/investigation.completed.schema.json": standalone_schema(InvestigationCompleted, "validation",
                                                                                sqs),
        f"{SCHEMAS}/sqs/alert.resolved.schema.json": standalone_schema(AlertResolved, "validation", sqs),
    }


def event_schemas() -> dict[str, Json]:
    """The `Detail` of each outbound event (CONTRACT.md "Outbound events"), as the publishers build it."""
    schemas = {}
    for model in ENGINE_EVENTS:
        note = (f"The Detail of the events with Source `{SOURCE}` and DetailType `{model.detail_type}` on the "
                "EngineEventBus (CONTRACT.md \"Outbound events\"). At least once: de-duplicate on `event_id`; "
                "ignore fields you do not know.")
        schemas[f"{SCHEMAS}/events/{model.detail_type}.schema.json"] = standalone_schema(model, "serialization", note)
    return schemas


def routing_schema() -> dict[str, Json]:
    note = "The routing document the portal PUTs to /routing (CONTRACT.md \"Routing document\"); unknown fields " \
           "are refused."
    return {f"{SCHEMAS}/routing-document.schema.json": standalone_schema(RoutingDocument, "validation", note)}


# ------------------------------------------------------------------------------------------------ OpenAPI

# (model, mode): requests are what the route accepts (validation), answers what it sends (serialization).
_COMPONENTS: tuple[tuple[type[BaseModel], JsonSchemaMode], ...] = (
    (RoutingDocument, "validation"),
    (api.IntegrationCheckRequest, "validation"),
    (api.ErrorBody, "serialization"),
    (api.RoutingRefused, "serialization"),
    (api.InstallAnswer, "serialization"),
    (api.InstallationView, "serialization"),
    (api.ChannelPicker, "serialization"),
    (api.StoredRouting, "serialization"),
    (api.IntegrationCheckAccepted, "serialization"),
    (api.FeedbackReport, "serialization"),
    (api.UrlVerificationAnswer, "serialization"),
    (api.EventAccepted, "serialization"),
    (api.ModalErrors, "serialization"),
)


def _ref(model: type[BaseModel]) -> Json:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def _answer(description: str, model: type[BaseModel] | None = None, *, headers: Json | None = None) -> Json:
    response: Json = {"description": description}
    if model is not None:
        response["content"] = _json(_ref(model))
    if headers:
        response["headers"] = headers
    return response


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}


def _error(description: str, *codes: str, headers: Json | None = None) -> Json:
    """An error answer: `{"error", "message", ...}` with `error` one of `codes`."""
    schema = {"allOf": [_ref(api.ErrorBody), {"properties": {"error": {"enum": sorted(codes)}}}]}
    response: Json = {"description": description, "content": _json(schema)}
    if headers:
        response["headers"] = headers
    return response


def _redirect(description: str, *, sets_cookie: str | None = None) -> Json:
    headers: Json = {"Location": {"description": "where the browser goes next", "schema": {"type": "string"}}}
    if sets_cookie:
        headers["Set-Cookie"] = {"description": sets_cookie, "schema": {"type": "string"}}
    return {"description": description, "headers": headers}


# Answers every portal route may give besides its own.
_PORTAL_ERRORS: Json = {
    "401": {"description": "API Gateway's JWT authorizer refused the token (missing, expired, wrong issuer or "
                           "audience); answered by API Gateway, the function never runs",
            "content": _json({"type": "object",
                              "properties": {"message": {"type": "string", "const": "Unauthorized"}}})},
    "403": _error("the token carries no tenant claim (JwtTenantClaim, default tenant_id)", "no_tenant"),
    "500": _error("our failure; it is logged", "internal_error"),
}
# Answers of the portal routes that ask Slack (sre_slack/api/slack_failures.py).
_SLACK_ERRORS: Json = {
    "409": _error("Slack is not connected (`reason`: why the installation stopped working) or the token lacks a "
                  "scope: reinstall the app", "not_installed", "missing_scope"),
    "503": _error("Slack is rate limiting (`retry_after`) or did not answer as expected (`slack_error`)",
                  "slack_rate_limited", "slack_unavailable", headers=_RETRY_AFTER),
}
_SLACK_SIGNED: list[Json] = [
    {"name": "X-Slack-Signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "v0=HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the app's signing secret"},
    {"name": "X-Slack-Request-Timestamp", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Unix seconds; more than five minutes away from our clock is refused"},
]
_SLACK_REFUSALS: Json = {
    "401": _error("not signed by Slack (unsigned, forged or stale): nothing else happens", "invalid_signature"),
    "503": _error("the signing secret cannot be read yet (the credentials secret is not filled): Slack retries",
                  "temporarily_unavailable"),
}


def _operation(summary: str, description: str, responses: Json, **fields: Any) -> Json:
    return {"summary": summary, "description": description, "responses": responses, **fields}


def _install() -> Json:
    return _operation(
        "Start an install", "Issues a single-use state (10 minutes) for the tenant and answers our own "
        "/slack/oauth/start link, which binds it to the browser before redirecting to Slack's authorize page.",
        {"200": _answer("the link the portal sends the browser to", api.InstallAnswer), **_PORTAL_ERRORS})


def _oauth_start() -> Json:
    return _operation(
        "Bind the install to this browser", "Opened by the admin's browser from `authorize_url`. Only the first "
        "browser to open the link can use it.",
        {"302": _redirect("to Slack's authorize page (SLACK_AUTHORIZE_URL) with our scopes and the callback URL; "
                          "a spent, expired or unknown state redirects to PortalUrl/integrations/slack?status=error"
                          "&reason=<code> instead", sets_cookie="the state cookie: HttpOnly; Secure; SameSite=Lax; "
                          "Path=/slack/oauth"),
         "400": _error("the link has no state", "missing_state")},
        parameters=[{"name": "state", "in": "query", "required": True, "schema": {"type": "string"}}])


def _oauth_callback() -> Json:
    reasons = ("invalid_state, expired_state, state_already_used, browser_mismatch, missing_code, invalid_code, "
               "bad_redirect_uri, slack_unreachable, no_bot_token, app_not_configured, or Slack's own error code")
    return _operation(
        "Finish an install", "Slack redirects the browser here. The state cookie must match the state, which is "
        "spent atomically; the code is exchanged with oauth.v2.access; the token is stored encrypted.",
        {"302": _redirect("to PortalUrl/integrations/slack?status=installed, status=cancelled (the admin pressed "
                          f"Cancel) or status=error&reason=<code> ({reasons}); nothing is stored on an error",
                          sets_cookie="clears the state cookie")},
        parameters=[{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                    for name in ("code", "state", "error")])


def _get_installation() -> Json:
    return _operation("The Slack connection", "Installation, routing and delivery health; never a token.",
                      {"200": _answer("the tenant's installation", api.InstallationView), **_PORTAL_ERRORS})


def _delete_installation() -> Json:
    return _operation(
        "Disconnect Slack", "Revokes the bot token at Slack (unless another tenant of the same workspace still uses "
        "it) and deletes the tenant's Slack data. Idempotent; Slack failing does not stop the deletion.",
        {"204": {"description": "disconnected"}, **_PORTAL_ERRORS})


def _channels() -> Json:
    return _operation(
        "The channel picker", "Channels the bot can see (cached; `refresh=true` lists them again).",
        {"200": _answer("the channels", api.ChannelPicker), **_PORTAL_ERRORS, **_SLACK_ERRORS},
        parameters=[{"name": "refresh", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["1", "true", "yes"]}}])


def _last_modified() -> Json:
    return {"Last-Modified": {"description": "when the document was last stored (absent: never)",
                              "schema": {"type": "string"}}}


def _get_routing() -> Json:
    return _operation("The routing document", "As stored; the empty document (all three keys) when there is none.",
                      {"200": _answer("the document", RoutingDocument, headers=_last_modified()), **_PORTAL_ERRORS})


def _put_routing() -> Json:
    refused = {"description": "the document is refused and nothing is stored: a field the model refuses "
                              "(`invalid_routing`), a channel the workspace does not have or that is archived "
                              "(`invalid_channel`), or a body that is not JSON (`invalid_body`)",
               "content": _json({"oneOf": [_ref(api.RoutingRefused),
                                           {"allOf": [_ref(api.ErrorBody),
                                                      {"properties": {"error": {"const": "invalid_body"}}}]}]})}
    return _operation(
        "Store the routing document", "Validated strictly, every channel checked against the workspace, then "
        "stored in one write.",
        {"200": _answer("the stored document, with `warnings` for channels the bot must be invited to",
                        api.StoredRouting, headers=_last_modified()),
         "400": refused, **_PORTAL_ERRORS, **_SLACK_ERRORS},
        requestBody={"required": True, "content": _json(_ref(RoutingDocument))})


def _integration_check() -> Json:
    preflight = ("not_installed", "installation_inactive", "no_routing", "no_channel_for_cluster",
                 "channel_not_found", "channel_archived", "bot_not_in_channel", "missing_scope")
    return _operation(
        "Test Integration", "Checks that a sample of the cluster can be posted (installation, routing, every "
        "routed channel), then enqueues a sample investigation marked as a test; it is posted like a real one and "
        "never counted.",
        {"202": _answer("the sample is on the investigation queue", api.IntegrationCheckAccepted),
         "400": _error("the cluster name is not one a route could name (`invalid_cluster`), or the body is not a "
                       "JSON object with only `workspace` and `severity` (`invalid_body`)",
                       "invalid_cluster", "invalid_body"),
         "409": _error("something to fix first: the code says what (`channel`, `cluster`, `severity` or `status` "
                       "name it)", *preflight),
         "503": _error("Slack is rate limiting or unavailable, or the queue refused the sample",
                       "slack_rate_limited", "slack_unavailable", "queue_unavailable", headers=_RETRY_AFTER),
         **_PORTAL_ERRORS},
        parameters=[{"name": "cluster", "in": "path", "required": True, "description": "the cluster, as a route "
                     "names it (URL-encoded)", "schema": {"type": "string", "minLength": 1,
                                                          "maxLength": MAX_NAME_LENGTH, "pattern": NAME_PATTERN}}],
        requestBody={"required": False, "content": _json(_ref(api.IntegrationCheckRequest))})


def _feedback() -> Json:
    return _operation(
        "Ratings of an investigation", "The tenant's ratings and comments of that investigation (another tenant's "
        "id reads as none).",
        {"200": _answer("the ratings", api.FeedbackReport, headers={
            "Cache-Control": {"schema": {"type": "string", "const": "no-store"}}}),
         "400": _error("the id has characters investigation ids never contain", "invalid_investigation_id"),
         **_PORTAL_ERRORS},
        parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string",
                                                                             "pattern": SAFE_ID_PATTERN}}])


def _interactions() -> Json:
    form = {"type": "object", "required": ["payload"], "properties": {"payload": {
        "type": "string", "description": "Slack's interaction payload (block_actions, view_submission, "
                                         "view_closed) as JSON text"}}}
    return _operation(
        "Slack interactivity", "Button clicks (the feedback buttons, Acknowledge) and the Needs Improvement modal. "
        "Signed by Slack; the signature covers the raw body.",
        {"200": {"description": "handled (an empty body; a submitted modal closes), or the modal's field errors",
                 "content": _json(_ref(api.ModalErrors))},
         "400": _error("a payload Slack would never send", "invalid_payload"), **_SLACK_REFUSALS},
        parameters=_SLACK_SIGNED,
        requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form}}})


def _events() -> Json:
    envelope = {"type": "object", "required": ["type"], "properties": {"type": {
        "type": "string", "description": "url_verification or event_callback (app_uninstalled, tokens_revoked, "
                                         "channel lifecycle events)"}}}
    return _operation(
        "Slack Events API", "Signed by Slack, url_verification included. Every event is idempotent, so Slack's "
        "retries are applied again.",
        {"200": {"description": "url_verification: the challenge; otherwise applied",
                 "content": _json({"oneOf": [_ref(api.UrlVerificationAnswer), _ref(api.EventAccepted)]})},
         "400": _error("a body Slack would never send", "invalid_payload"),
         **_SLACK_REFUSALS,
         "503": _error("the signing secret cannot be read yet, or applying the event failed: Slack retries",
                       "temporarily_unavailable")},
        parameters=_SLACK_SIGNED, requestBody={"required": True, "content": _json(envelope)})


OPERATIONS: Mapping[str, Callable[[], Json]] = {
    "POST /slack/install": _install,
    "GET /slack/oauth/start": _oauth_start,
    "GET /slack/oauth/callback": _oauth_callback,
    "GET /slack/installation": _get_installation,
    "DELETE /slack/installation": _delete_installation,
    "GET /slack/channels": _channels,
    "GET /routing": _get_routing,
    "PUT /routing": _put_routing,
    "POST /clusters/{cluster}/test": _integration_check,
    "GET /investigations/{id}/feedback": _feedback,
    "POST /slack/interactions": _interactions,
    "POST /slack/events": _events,
}


def template_routes(template: Template) -> list[HttpApiRoute]:
    return sorted((event for spec in template.functions().values() for event in spec.events
                   if isinstance(event, HttpApiRoute)), key=lambda route: route.route_key)


def openapi(template: Template) -> Json:
    routes = template_routes(template)
    keys = {route.route_key for route in routes}
    if keys != set(OPERATIONS):
        raise SystemExit(f"template.yaml's routes and docs/contract/generate.py's OPERATIONS differ: only in the "
                         f"template {sorted(keys - set(OPERATIONS))}, only here {sorted(set(OPERATIONS) - keys)}")
    paths: Json = {}
    for route in routes:
        operation = OPERATIONS[route.route_key]()
        # The template decides which routes sit behind the JWT authorizer.
        operation["security"] = [{"PortalJwt": []}] if route.needs_authorizer else []
        operation["operationId"] = route.name
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    _, definitions = models_json_schema(_COMPONENTS, ref_template="#/components/schemas/{model}",
                                        schema_generator=_Schema)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AI SRE Slack integration: HTTP API",
            "version": "1",
            "description": "API Gateway HTTP API (payload format 2.0) of the Slack integration (CONTRACT.md, "
                           "\"HTTP API\"). Portal routes need the portal's JWT; the tenant is its tenant_id claim "
                           "(JwtTenantClaim), never the body or the path. Slack-facing routes are signed by Slack. "
                           "Errors are JSON {\"error\": \"<code>\", \"message\": \"<human text>\"}. Answers may "
                           "gain fields: ignore the ones you do not know. Generated by docs/contract/generate.py.",
        },
        "servers": [{"url": "https://{api_id}.execute-api.{region}.amazonaws.com",
                     "description": "the stack's ApiUrl output (or a custom domain mapped at its root)",
                     "variables": {"api_id": {"default": "abc123"}, "region": {"default": "us-east-1"}}}],
        "paths": paths,
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"PortalJwt": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "The portal's identity provider token: API Gateway accepts it when `iss` equals "
                               "JwtIssuer exactly and `aud` (or `client_id`) is one of JwtAudience."}},
        },
    }


# ------------------------------------------------------------------------------------------------ files


def documents(template: Template | None = None) -> dict[str, Json]:
    """Every generated file (path relative to docs/contract/) and its JSON document."""
    return {OPENAPI: openapi(template or Template.load()), **message_schemas(), **event_schemas(),
            **routing_schema()}


def render(document: Json) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered(template: Template | None = None) -> dict[str, str]:
    return {path: render(document) for path, document in documents(template).items()}


def stale_files(root: Path = OUT, expected: Mapping[str, str] | None = None) -> list[str]:
    """Generated files that are missing or differ, and files under schemas/ nothing generates any more."""
    expected = rendered() if expected is None else expected
    stale = [path for path, text in expected.items()
             if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != text]
    leftovers = [path.relative_to(root).as_posix() for path in sorted((root / SCHEMAS).rglob("*")) if path.is_file()]
    return sorted({*stale, *(path for path in leftovers if path not in expected)})


def write(root: Path = OUT) -> list[str]:
    expected = rendered()
    changed = stale_files(root, expected)
    for path in changed:
        target = root / path
        if path in expected:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(expected[path], encoding="utf-8")
        else:
            target.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"docs/contract/{path} is not what the code generates: run `{COMMAND}`", file=sys.stderr)
        return 1 if stale else 0
    changed = write()
    print("\n".join(f"wrote docs/contract/{path}" for path in changed) or "docs/contract/ is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
