"""moto's server for the sandbox, taking one request at a time.

moto's backends are not thread-safe (a DynamoDB transaction deep-copies a table while another request writes
to it), while the handlers it serves post from several threads at once, as they do in AWS. Serializing the
requests costs nothing at sandbox traffic and keeps the emulator's answers those of a consistent database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


class SerializedMotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 5005) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serialized(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            with lock:
                # Materialize the body inside the lock: moto builds it from shared state.
                return list(app(environ, start_response))

        self._server: BaseWSGIServer = make_server(host, port, serialized, threaded=True,
                                                   request_handler=MotoRequestHandler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SerializedMotoServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
