"""The background loop both local event source mappings share (SQS and the DynamoDB stream): poll, process,
sleep when idle, keep going when the emulator hiccups."""

from __future__ import annotations

import sys
import threading
from typing import Any, Self


class BackgroundPoller:
    """Mixin: `run_once()` processes what is there now and returns what it processed (empty when idle)."""

    poll_interval: float
    poller_name: str
    _stop: threading.Event
    _thread: threading.Thread | None

    def run_once(self) -> list[Any]:
        raise NotImplementedError

    def start(self) -> Self:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"{self.poller_name}-pump", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                processed = self.run_once()
            except Exception as exc:  # the emulator went away, a queue was deleted...: keep polling
                print(f"[{self.poller_name}] polling failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                processed = []
            if not processed:
                self._stop.wait(self.poll_interval)
