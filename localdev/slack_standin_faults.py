"""Fault injection for the Slack stand-in: scripted failures, latency and per-channel rate limits."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

_DEFAULT_ERROR_BY_STATUS = {
    429: "ratelimited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


@dataclass
class Fault:
    """What to answer instead of the real result: a body + status, or a dropped connection."""

    method: str
    error: str
    status: int
    retry_after: int | None
    remaining: int
    channel: str | None
    close_connection: bool

    def matches(self, method: str, channel: str | None) -> bool:
        return self.remaining > 0 and self.method in (method, "*") and self.channel in (None, channel)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._latency: dict[str | None, float] = {}
        self._rate: tuple[float, int] | None = None
        self._buckets: dict[str, _Bucket] = {}

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self._latency.clear()
            self._rate = None
            self._buckets.clear()

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        channel: str | None = None,
        close_connection: bool = False,
    ) -> None:
        if retry_after is not None and status == 200:
            status = 429
        if error is None:
            error = _DEFAULT_ERROR_BY_STATUS.get(status, "internal_error")
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._faults.append(Fault(method, error, status, retry_after, times, channel, close_connection))

    def take_fault(self, method: str, channel: str | None) -> Fault | None:
        """The first armed fault for this call, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, channel):
                    fault.remaining -= 1
                    return fault
            return None

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        with self._lock:
            if seconds <= 0:
                self._latency.pop(method, None)
            else:
                self._latency[method] = seconds

    def latency_for(self, method: str) -> float:
        with self._lock:
            return self._latency.get(method, self._latency.get(None, 0.0))

    def enforce_channel_rate(self, max_per_second: float | None = 1.0, burst: int = 3) -> None:
        """Token bucket per channel for chat.postMessage; `None` turns it off."""
        with self._lock:
            self._rate = None if max_per_second is None else (max_per_second, burst)
            self._buckets.clear()

    def channel_retry_after(self, channel: str, now: float | None = None) -> int | None:
        """Seconds to wait when this post exceeds the channel's rate, else None (and the post is counted)."""
        with self._lock:
            if self._rate is None:
                return None
            rate, burst = self._rate
            now = time.monotonic() if now is None else now
            bucket = self._buckets.setdefault(channel, _Bucket(float(burst), now))
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / rate))
