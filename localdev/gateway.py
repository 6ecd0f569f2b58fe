"""Local stand-in for the template's API Gateway HTTP API (payload format 2.0).

Serves exactly the `HttpApi` events of template.yaml: a route that is not in the template answers 404 here as
it would in AWS. Requests become real v2 events; handler results become HTTP answers by the v2 rules.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from localdev.handlers import LocalFunctions, print_invocation_error
from localdev.template import HTTP_API_TYPE, HttpApiRoute, Template

if TYPE_CHECKING:
    from localdev.aws import Deployment

DEFAULT_DEV_CLAIMS = {"tenant_id": "t_local", "sub": "dev-user"}
DEV_TENANT_HEADER = "x-dev-tenant"
DEFAULT_ACCOUNT_ID = "123456789012"

# Measured against AWS (HTTP API, payload 2.0): only these arrive as text; every other body, form posts
# included, arrives base64-encoded with isBase64Encoded true.
_TEXT_MEDIA_TYPES = {"application/json", "application/xml", "application/javascript"}

NOT_FOUND = (404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
INTERNAL_ERROR = (500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')


def is_text_content_type(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_MEDIA_TYPES


def _request_id() -> str:
    return base64.b64encode(os.urandom(11)).decode()  # the shape of API Gateway's ids: "JKJaXmPLvHcESHA="


# ---------------------------------------------------------------------------------------------------- events


def build_http_event(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str | list[str]] | str | None = None,
    body: str | bytes | dict[str, Any] | list[Any] | None = None,
    cookies: list[str] | dict[str, str] | None = None,
    claims: dict[str, Any] | None = None,
    path_parameters: dict[str, str] | None = None,
    is_base64: bool = False,
    route_key: str | None = None,
    domain: str = "api.local",
    source_ip: str = "127.0.0.1",
    api_id: str = "local",
    account_id: str = DEFAULT_ACCOUNT_ID,
    scopes: list[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-format-2.0 event, as AWS sends it to the function.

    `path` may carry a query string. `body`: bytes are the raw request body (base64-encoded when
    `is_base64`); a str is the event's `body` field verbatim (already base64 when `is_base64`); a dict or
    list is sent as JSON text. `claims` (not None) marks the route as JWT-authorized.
    `route_key` defaults to "METHOD path"; pass the template's form ("POST /clusters/{cluster}/test") for
    routes with path parameters.
    """
    method = method.upper()
    raw_path, _, raw_query = path.partition("?")
    if isinstance(query, str):
        raw_query = query
    elif query:
        raw_query = urlencode(query, doseq=True)
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    lowered.setdefault("host", domain)
    # API Gateway adds these to every request; handlers build absolute URLs from them.
    lowered.setdefault("x-forwarded-for", source_ip)
    lowered.setdefault("x-forwarded-port", "443")
    lowered.setdefault("x-forwarded-proto", "https")
    lowered.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}")
    if isinstance(body, dict | list):
        body = json.dumps(body)
        lowered.setdefault("content-type", "application/json")
    if isinstance(body, bytes):
        lowered.setdefault("content-length", str(len(body)))
        body = base64.b64encode(body).decode() if is_base64 else body.decode()
    elif isinstance(body, str):
        try:
            raw = base64.b64decode(body, validate=True) if is_base64 else body.encode()
        except binascii.Error as exc:
            raise ValueError("a str body with is_base64=True must already be base64; pass bytes instead") from exc
        lowered.setdefault("content-length", str(len(raw)))
    user_agent = lowered.get("user-agent", "")
    when = now or datetime.now(UTC)
    route_key = route_key or f"{method} {raw_path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if isinstance(cookies, dict):
        cookies = [f"{name}={value}" for name, value in cookies.items()]
    if cookies:
        event["cookies"] = list(cookies)
    event["headers"] = lowered
    if raw_query:
        combined: dict[str, list[str]] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            combined.setdefault(name, []).append(value)
        event["queryStringParameters"] = {name: ",".join(values) for name, values in combined.items()}
    request_context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(":", 1)[0].split(".", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": user_agent,
        },
        "requestId": _request_id(),
        "routeKey": route_key,
        "stage": "$default",
        "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(when.timestamp() * 1000),
    }
    if claims is not None:
        scope = claims.get("scope")
        request_context["authorizer"] = {
            "jwt": {
                "claims": dict(claims),
                "scopes": scopes if scopes is not None else (str(scope).split() if scope else None),
            }
        }
    event["requestContext"] = request_context
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = bool(is_base64 and body is not None)
    return event


# ---------------------------------------------------------------------------------------------------- responses


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_response_from_result(result: Any) -> HttpResponse:
    """Map a handler's return value to the HTTP answer, by the payload-format-2.0 rules.

    A dict with `statusCode` is a full response; anything else that is valid JSON is "inferred": 200,
    application/json, the value itself as the body.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(200, [("content-type", "application/json")], json.dumps(result).encode())
    if "multiValueHeaders" in result:
        print("[localdev] multiValueHeaders is ignored by HTTP APIs (payload 2.0); use headers/cookies",
              file=sys.stderr)  # fmt: skip
    status = int(result["statusCode"])
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or ()]
    body = result.get("body")
    if body is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(str(body), validate=True)
    else:
        payload = str(body).encode()
    return HttpResponse(status, headers, payload)


# ---------------------------------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class BoundRoute:
    function: str  # logical id
    route: HttpApiRoute
    pattern: re.Pattern[str] | None  # None: the $default route

    @property
    def priority(self) -> tuple[bool, bool, int, bool]:
        """API Gateway prefers literal paths, then parameters, then greedy paths; a method over ANY."""
        path = self.route.path
        return (path == "$default", "+}" in path, path.count("{"), self.route.method == "ANY")

    def match(self, method: str, raw_path: str) -> dict[str, str] | None:
        if self.route.method not in ("ANY", method):
            return None
        if self.pattern is None:
            return {}
        found = self.pattern.fullmatch(raw_path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


def _compile(path: str) -> re.Pattern[str] | None:
    if path == "$default":
        return None
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("+}"):
            pattern += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            pattern += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def template_routes(template: Template) -> list[BoundRoute]:
    routes = [
        BoundRoute(function=logical_id, route=route, pattern=_compile(route.path))
        for logical_id, spec in template.functions().items()
        for route in spec.http_routes
    ]
    return sorted(routes, key=lambda r: r.priority)


# ---------------------------------------------------------------------------------------------------- CORS


@dataclass(frozen=True)
class CorsConfiguration:
    """The HttpApi's CorsConfiguration. With it, API Gateway answers preflights itself and replaces any CORS
    headers of the function's response with its own; without it, a browser on another origin is refused."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None

    @classmethod
    def from_template(cls, template: Template, deployment: Deployment) -> CorsConfiguration | None:
        for api in template.resources_of_type(HTTP_API_TYPE).values():
            config = deployment.resolve((api.get("Properties") or {}).get("CorsConfiguration"))
            if config is True:  # SAM's shorthand: any origin
                return cls(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
            if isinstance(config, dict):
                return cls(
                    allow_origins=tuple(config.get("AllowOrigins") or ()),
                    allow_methods=tuple(str(m).upper() for m in config.get("AllowMethods") or ()),
                    allow_headers=tuple(str(h).lower() for h in config.get("AllowHeaders") or ()),
                    expose_headers=tuple(config.get("ExposeHeaders") or ()),
                    allow_credentials=bool(config.get("AllowCredentials", False)),
                    max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
                )
        return None

    def allowed_origin(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if "*" in self.allow_origins:
            return "*"
        return origin if origin.lower() in {o.lower() for o in self.allow_origins} else None

    def response_headers(self, origin: str | None) -> list[tuple[str, str]]:
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return []
        headers = [("access-control-allow-origin", allowed)]
        if self.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        if self.expose_headers:
            headers.append(("access-control-expose-headers", ",".join(self.expose_headers)))
        return headers

    def preflight(self, headers: dict[str, str]) -> HttpResponse:
        origin = headers.get("origin")
        answer = self.response_headers(origin)
        if answer:
            method = headers.get("access-control-request-method", "").upper()
            methods = [method] if "*" in self.allow_methods else list(self.allow_methods)
            requested = headers.get("access-control-request-headers", "")
            allow_headers = requested if "*" in self.allow_headers else ",".join(self.allow_headers)
            answer.append(("access-control-allow-methods", ",".join(methods)))
            if allow_headers:
                answer.append(("access-control-allow-headers", allow_headers))
            if self.max_age is not None:
                answer.append(("access-control-max-age", str(self.max_age)))
        return HttpResponse(204, answer, b"")


# ---------------------------------------------------------------------------------------------------- server


class LocalGateway:
    """Serves every HttpApi route of the template on host:port (port 0: any free port)."""

    def __init__(
        self,
        template: Template,
        deployment: Deployment,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        dev_claims: dict[str, Any] | None = None,
        functions_root: Path | None = None,
        quiet: bool = False,
    ) -> None:
        self.template = template
        self.deployment = deployment
        self.functions = LocalFunctions(template, deployment, functions_root=functions_root)
        self.routes = template_routes(template)
        self.cors = CorsConfiguration.from_template(template, deployment)
        self.dev_claims = dict(DEFAULT_DEV_CLAIMS if dev_claims is None else dev_claims)
        self.quiet = quiet
        self._server = ThreadingHTTPServer((host, port), _make_request_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}"

    def start(self) -> LocalGateway:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-gateway", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def find_route(self, method: str, raw_path: str) -> tuple[BoundRoute, dict[str, str]] | None:
        for bound in self.routes:
            parameters = bound.match(method, raw_path)
            if parameters is not None:
                return bound, parameters
        return None

    def claims_for(self, headers: dict[str, str]) -> dict[str, Any]:
        """Locally the JWT authorizer lets every request in with the dev claims; X-Dev-Tenant switches tenant."""
        claims = dict(self.dev_claims)
        if headers.get(DEV_TENANT_HEADER):
            claims["tenant_id"] = headers[DEV_TENANT_HEADER]
        return claims

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, client_ip: str
    ) -> tuple[HttpResponse, str | None]:
        """One HTTP request -> (answer, function that served it)."""
        split = urlsplit(target)
        combined: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in headers:
            name = name.lower()
            if name == "cookie":  # payload 2.0 moves cookies out of the headers into `cookies`
                cookies += [c.strip() for c in value.split(";") if c.strip()]
                continue
            combined[name] = f"{combined[name]},{value}" if name in combined else value
        if self.cors is not None and method == "OPTIONS" and "access-control-request-method" in combined:
            return self.cors.preflight(combined), None
        response, function = self._invoke_route(method, split.path, split.query, combined, cookies, body, client_ip)
        if self.cors is None:
            return response, function
        own = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
        cors_headers = self.cors.response_headers(combined.get("origin"))
        return HttpResponse(response.status, own + cors_headers, response.body), function

    def _invoke_route(
        self,
        method: str,
        path: str,
        query: str,
        combined: dict[str, str],
        cookies: list[str],
        body: bytes,
        client_ip: str,
    ) -> tuple[HttpResponse, str | None]:
        found = self.find_route(method, path)
        if found is None:
            return HttpResponse(NOT_FOUND[0], list(NOT_FOUND[1].items()), NOT_FOUND[2]), None
        bound, path_parameters = found
        # The local gateway speaks plain HTTP on its own port; say so, as API Gateway says https/443.
        combined["x-forwarded-proto"] = "http"
        combined["x-forwarded-port"] = str(self.port)
        forwarded = combined.get("x-forwarded-for")
        combined["x-forwarded-for"] = f"{forwarded}, {client_ip}" if forwarded else client_ip
        text = is_text_content_type(combined.get("content-type"))
        if text:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                text = False
        event = build_http_event(
            method,
            path,
            headers=combined,
            query=query,
            body=body if body else None,
            cookies=cookies,
            claims=self.claims_for(combined) if bound.route.needs_authorizer else None,
            path_parameters=path_parameters,
            is_base64=not text,
            route_key=bound.route.route_key,
            domain=combined.get("host", "localhost"),
            source_ip=client_ip,
            api_id=self.deployment.api_id,
            account_id=self.deployment.account_id,
        )
        try:
            result = self.functions.invoke(bound.function, event)
            response = http_response_from_result(result)
        except Exception as exc:
            print_invocation_error(bound.function, exc)
            response = HttpResponse(INTERNAL_ERROR[0], list(INTERNAL_ERROR[1].items()), INTERNAL_ERROR[2])
        request_id = event["requestContext"]["requestId"]
        return HttpResponse(response.status, [*response.headers, ("apigw-requestid", request_id)],
                            response.body), bound.function  # fmt: skip


def _make_request_handler(gateway: LocalGateway) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "localdev-apigateway"

        def _serve(self) -> None:
            started = time.monotonic()
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            response, function = gateway.handle(
                self.command, self.path, list(self.headers.items()), body, self.client_address[0]
            )
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            if not gateway.quiet:
                elapsed_ms = (time.monotonic() - started) * 1000
                print(f"[gateway] {self.command} {urlsplit(self.path).path} -> {response.status} "
                      f"({function or 'no route'}, {elapsed_ms:.0f} ms)", file=sys.stderr)  # fmt: skip

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request is printed by _serve, with the function that served it

    return RequestHandler
