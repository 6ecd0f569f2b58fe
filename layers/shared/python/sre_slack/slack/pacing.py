"""How fast and how wide posting goes: one token bucket per channel, and the threads of a record's Slack calls.

Slack allows about one chat.postMessage per second per channel with short bursts (shared README). The buckets
live at module level, so a warm container remembers what it posted in earlier invocations. They cannot see
other containers: when those push a channel over the limit Slack answers 429, which the poster handles.

Nothing here ever sleeps past the invocation's deadline: a post that would have to wait beyond it is not
made, and the record comes back later through SQS instead.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

from sre_slack import container

# A little under Slack's 1/s: two posts spaced exactly one second apart can arrive closer than that (threads,
# network), and a storm keeps the channel at its limit for minutes (bench/storm.py counts its 429s).
POSTS_PER_SECOND = 0.95
BURST = 3
# Enough for a full SQS batch (10) posting at once; more threads would only queue on Slack's side.
MAX_WORKERS = 16


@dataclass
class _Bucket:
    tokens: float
    updated: float


class ChannelPacer:
    """Per-channel token bucket: `reserve` hands out the moment a post may start, without blocking."""

    def __init__(self, rate: float = POSTS_PER_SECOND, burst: int = BURST) -> None:
        self.rate = rate
        self.burst = burst
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def reserve(self, channel: str, not_after: float) -> float | None:
        """Seconds to wait before posting to `channel`, or None when that would start after `not_after`
        (a time.monotonic() value). A reservation that is handed out is spent."""
        with self._lock:
            now = time.monotonic()
            bucket = self._buckets.setdefault(channel, _Bucket(float(self.burst), now))
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            wait = 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / self.rate
            if now + wait > not_after:
                return None
            bucket.tokens -= 1.0
            return wait

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


@cache
def channel_pacer() -> ChannelPacer:
    return ChannelPacer()


container.keeps(channel_pacer.cache_clear)


@cache
def post_pool() -> ThreadPoolExecutor:
    """Threads for the Slack calls of one record (its channels, in parallel). Separate from the records' own pool
    (sre_slack.queues.batch): a record waits on its posts, so one bounded pool could deadlock."""
    return ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="slack-post")
