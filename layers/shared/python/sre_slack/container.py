"""What a warm container keeps between invocations, and the one way to start it afresh.

Kept: the settings, boto3 clients, the Slack credentials (5 minutes), decrypted bot tokens (5 minutes), channel
listings (1 minute) and the per-channel posting pace. `reset()` drops all of it. Lambda SnapStart needs exactly
that after a restore, since copies restored from one snapshot must not share connections, cached secrets or random
state; handlers register the hook at INIT when the runtime offers it. The local sandbox calls `reset()` too, when it
starts a new emulated account or runs another function in the same process.
"""

from __future__ import annotations

import random

try:  # Lambda's SnapStart runtime hooks; absent elsewhere (tests, local sandbox, SnapStart off)
    from snapshot_restore_py import register_after_restore
except ImportError:
    register_after_restore = None

from sre_slack import aws
from sre_slack.contracts.settings import get_settings
from sre_slack.slack import credentials, directory, pacing, tokens


def reset() -> None:
    get_settings.cache_clear()
    aws.client.cache_clear()
    credentials.forget()
    tokens.decrypted_tokens.clear()
    directory.clear_cache()
    pacing.channel_pacer().reset()
    random.seed()  # restored copies would otherwise draw the same jitter


def register_restore_hook() -> None:
    """Under SnapStart, `reset()` after every restore. Called by the handlers at INIT, before the snapshot."""
    if register_after_restore is not None:
        register_after_restore(reset)
