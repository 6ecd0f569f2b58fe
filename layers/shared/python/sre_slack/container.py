"""What a warm container keeps between invocations, and the one way to start it afresh.

Kept: the settings, boto3 clients, and whatever a module registers with `keeps` (the Slack credentials, decrypted
bot tokens, channel listings, the per-channel posting pace). `reset()` drops all of it. Lambda SnapStart needs
exactly that after a restore, since copies restored from one snapshot must not share connections, cached secrets
or random state; the Slack-facing handlers register the hook at INIT when the runtime offers it. The local sandbox
calls `reset()` too, when it starts a new emulated account.
"""

from __future__ import annotations

import random
from collections.abc import Callable

try:  # Lambda's SnapStart runtime hooks; absent elsewhere (tests, local sandbox, SnapStart off)
    from snapshot_restore_py import register_after_restore
except ImportError:
    register_after_restore = None

from sre_slack import aws
from sre_slack.contracts.settings import get_settings

_resets: list[Callable[[], None]] = []


def keeps(reset: Callable[[], None]) -> Callable[[], None]:
    """Register what drops a module's per-container state (modules call it at import: only loaded ones count)."""
    _resets.append(reset)
    return reset


def reset() -> None:
    get_settings.cache_clear()
    aws.client.cache_clear()
    for drop in _resets:
        drop()
    random.seed()  # restored copies would otherwise draw the same jitter


def register_restore_hook() -> None:
    """Under SnapStart, `reset()` after every restore. Called by the handlers at INIT, before the snapshot."""
    if register_after_restore is not None:
        register_after_restore(reset)
