"""Fault injection for the Slack stand-in: scripted failures, seeded random failures, latency and per-channel rate
limits.

A fault is answered before the call is carried out (Slack refused it: nothing happened) or, with
`after_processing`, after it (the message exists, but the answer says otherwise or never arrives: the real
ambiguity a client cannot resolve).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

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
    after_processing: bool = False
    # Sleep this long before answering (past the client's timeout: a slow answer).
    delay: float = 0.0

    def matches(self, method: str, channel: str | None) -> bool:
        return self.remaining > 0 and self.method in (method, "*") and self.channel in (None, channel)


# The random faults: (name, weight, fault fields). Weights are relative.
RANDOM_FAULTS: tuple[tuple[str, int, dict[str, object]], ...] = (
    ("429", 3, {"status": 429, "error": "ratelimited", "retry_after": 2}),
    ("503", 2, {"status": 503, "error": "service_unavailable"}),
    ("500_not_processed", 2, {"status": 500, "error": "internal_error"}),
    ("internal_error_after_posting", 2, {"status": 200, "error": "internal_error", "after_processing": True}),
    ("fatal_error_after_posting", 1, {"status": 500, "error": "fatal_error", "after_processing": True}),
    ("reset_not_processed", 1, {"close_connection": True}),
    ("reset_after_posting", 1, {"close_connection": True, "after_processing": True}),
)


@dataclass
class RandomFaults:
    """Seeded random faults on a share of calls of some methods; what was injected is counted."""

    rate: float
    methods: frozenset[str]
    rng: random.Random
    # Slow answers past the client's timeout are rare and cost real seconds: their own (small) rate.
    slow_rate: float = 0.0
    slow_seconds: float = 6.0
    injected: Counter[str] = field(default_factory=Counter)

    def draw(self, method: str) -> Fault | None:
        if method not in self.methods:
            return None
        if self.slow_rate and self.rng.random() < self.slow_rate:
            self.injected["slow_answer_after_posting"] += 1
            return Fault(method, "", 200, None, 1, None, False, after_processing=True, delay=self.slow_seconds)
        if self.rng.random() >= self.rate:
            return None
        names = [name for name, _, _ in RANDOM_FAULTS]
        weights = [weight for _, weight, _ in RANDOM_FAULTS]
        name = self.rng.choices(names, weights)[0]
        spec = next(fields for n, _, fields in RANDOM_FAULTS if n == name)
        self.injected[name] += 1
        return Fault(method, str(spec.get("error", "internal_error")), int(spec.get("status", 200)),  # type: ignore[arg-type]
                     spec.get("retry_after"), 1, None, bool(spec.get("close_connection")),  # type: ignore[arg-type]
                     after_processing=bool(spec.get("after_processing")))


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
        self.random: RandomFaults | None = None

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.random = None
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
        after_processing: bool = False,
    ) -> None:
        if retry_after is not None and status == 200:
            status = 429
        if error is None:
            error = _DEFAULT_ERROR_BY_STATUS.get(status, "internal_error")
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._faults.append(Fault(method, error, status, retry_after, times, channel, close_connection,
                                      after_processing=after_processing))

    def fail_randomly(self, rate: float, *, methods: tuple[str, ...] = ("chat.postMessage", "chat.update"),
                      seed: int = 0, slow_rate: float = 0.0, slow_seconds: float = 6.0) -> RandomFaults:
        """From now on, about `rate` of the calls of `methods` fail with one of RANDOM_FAULTS (seeded)."""
        with self._lock:
            # Reproducible fault patterns, not security.
            self.random = RandomFaults(rate, frozenset(methods), random.Random(seed), slow_rate, slow_seconds)  # noqa: S311
            return self.random

    def take_fault(self, method: str, channel: str | None) -> Fault | None:
        """The first armed fault for this call, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, channel):
                    fault.remaining -= 1
                    return fault
            return self.random.draw(method) if self.random is not None else None

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
