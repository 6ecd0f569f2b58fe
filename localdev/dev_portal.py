"""A stand-in for the two portal pages the install flow touches: the Install button and the page Slack's
OAuth flow returns to (PortalUrl/integrations/slack?status=...)."""

from __future__ import annotations

import json
import threading
import urllib.request
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Portal stand-in</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;line-height:1.5}}
.status{{padding:.6rem 1rem;border-radius:6px;background:#eef}} button{{font-size:1rem;padding:.5rem 1rem}}
pre{{background:#f6f6f6;padding:1rem;overflow:auto}}</style></head><body>
<h1>AI SRE portal (local stand-in)</h1>{body}</body></html>"""


class DevPortal:
    def __init__(self, *, port: int, gateway_url: str, slack_ui_url: str, host: str = "127.0.0.1") -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.slack_ui_url = slack_ui_url
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    def start(self) -> DevPortal:
        self._thread = threading.Thread(target=self._server.serve_forever, name="dev-portal", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _gateway(self, method: str, path: str) -> tuple[int, str]:
        request = urllib.request.Request(f"{self.gateway_url}{path}", method=method,
                                         headers={"Authorization": "Bearer local-dev"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def home(self, query: dict[str, str]) -> str:
        status = query.get("status")
        parts = []
        if status:
            reason = f" ({escape(query['reason'])})" if query.get("reason") else ""
            parts.append(f"<p class='status'>Slack install: <b>{escape(status)}</b>{reason}</p>")
        code, body = self._gateway("GET", "/slack/installation")
        parts.append(f"<h2>Installation</h2><pre>{escape(_pretty(body))}</pre>" if code == 200 else "")
        parts.append("<form method='post' action='/install'><button>Add to Slack</button></form>")
        parts.append(f"<p>Messages arrive in the <a href='{escape(self.slack_ui_url)}'>Slack stand-in</a>.</p>")
        return _PAGE.format(body="".join(parts))


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body


def _handler(portal: DevPortal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path not in ("/", "/integrations/slack"):
                self.send_error(404)
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self._send(200, portal.home(query).encode(), "text/html; charset=utf-8")

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/install":
                self.send_error(404)
                return
            # What the real portal does: ask the API for the authorize URL, send the browser there.
            code, body = portal._gateway("POST", "/slack/install")
            if code != 200:
                self._send(code, _PAGE.format(body=f"<pre>{escape(body)}</pre>").encode(), "text/html")
                return
            self.send_response(302)
            self.send_header("Location", json.loads(body)["authorize_url"])
            self.end_headers()

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
