"""Slack bot tokens: encrypted with the stack's KMS key at rest, decrypted where used, rotated before they expire.

The KMS encryption context binds a ciphertext to its tenant: a ciphertext copied into another tenant's record
does not decrypt. Decrypted tokens are cached per container for a few minutes because every posted investigation
needs one and KMS calls cost latency.

With token rotation enabled Slack issues 12-hour tokens and a refresh token that each refresh invalidates. Two
functions refreshing at once is safe by construction: Slack accepts only the first refresh; the loser gets
`invalid_refresh_token`, re-reads the record and uses what the winner stored. Writes are compare-and-set on
`token_version` (sre_slack.storage.installations.update_tokens), so a stale writer never overwrites a newer token.
Refreshing starts two hours before expiry, so while a race is being settled the current token is still valid.
"""

from __future__ import annotations

import base64
import threading
import time

from slack_sdk.errors import SlackTokenRotationError

from sre_slack import aws, container
from sre_slack.contracts.settings import get_settings
from sre_slack.observability import get_logger
from sre_slack.slack.client import read_client
from sre_slack.slack.credentials import get_slack_credentials
from sre_slack.storage.installations import Installation, get_installation, update_tokens

REFRESH_MINUTES_BEFORE_EXPIRY = 120
DECRYPTED_CACHE_SECONDS = 300.0
_PURPOSE = "slack-token"
# Errors of a refresh after which the refresh token will never work again.
_PERMANENT_REFRESH_ERRORS = frozenset({"invalid_refresh_token", "invalid_client_id", "bad_client_secret",
                                       "token_revoked"})


class TokenUnavailable(Exception):
    """No usable bot token: the installation is inactive or an expired token could not be refreshed."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class _DecryptedTokens:
    """Plaintext tokens by (tenant, ciphertext), for a few minutes; shared by a batch's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, str]] = {}

    def get(self, tenant_id: str, ciphertext: str) -> str | None:
        with self._lock:
            entry = self._entries.get((tenant_id, ciphertext))
        return entry[1] if entry and entry[0] > time.monotonic() else None

    def put(self, tenant_id: str, ciphertext: str, token: str) -> None:
        with self._lock:
            self._entries[(tenant_id, ciphertext)] = (time.monotonic() + DECRYPTED_CACHE_SECONDS, token)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


decrypted_tokens = _DecryptedTokens()
container.keeps(decrypted_tokens.clear)


def _context(tenant_id: str) -> dict[str, str]:
    return {"tenant_id": tenant_id, "purpose": _PURPOSE}


def encrypt_token(tenant_id: str, token: str) -> str:
    response = aws.client("kms").encrypt(KeyId=get_settings().require("kms_key_id"), Plaintext=token.encode(),
                                         EncryptionContext=_context(tenant_id))
    return base64.b64encode(response["CiphertextBlob"]).decode()


def decrypt_token(tenant_id: str, ciphertext: str) -> str:
    cached = decrypted_tokens.get(tenant_id, ciphertext)
    if cached is not None:
        return cached
    response = aws.client("kms").decrypt(CiphertextBlob=base64.b64decode(ciphertext),
                                         EncryptionContext=_context(tenant_id))
    token = response["Plaintext"].decode()
    decrypted_tokens.put(tenant_id, ciphertext, token)
    return token


def bot_token(installation: Installation) -> str:
    """The tenant's usable bot token, refreshed first when it expires soon. Raises TokenUnavailable."""
    if not installation.is_active or installation.token_ciphertext is None:
        raise TokenUnavailable(f"installation {installation.status}: {installation.status_reason or 'no token'}",
                               permanent=True)
    token = decrypt_token(installation.tenant_id, installation.token_ciphertext)
    if not installation.rotates_tokens or not _due(installation):
        return token
    return _rotate(installation, token)


def _due(installation: Installation) -> bool:
    assert installation.token_expires_at is not None
    return installation.token_expires_at <= time.time() + REFRESH_MINUTES_BEFORE_EXPIRY * 60


def _expired(installation: Installation) -> bool:
    return installation.token_expires_at is not None and installation.token_expires_at <= time.time() + 30


def _rotate(installation: Installation, current_token: str) -> str:
    # Imported here: slack_sdk.oauth's package import (every store, sync and async) costs 3-7 ms of INIT in each
    # Slack-facing function (bench/cold_start.py --importtime), and only a token due for refresh needs it.
    from slack_sdk.oauth.installation_store import Bot
    from slack_sdk.oauth.token_rotation import TokenRotator

    logger = get_logger()
    assert installation.refresh_token_ciphertext is not None
    credentials = get_slack_credentials()
    rotator = TokenRotator(client_id=credentials.client_id, client_secret=credentials.client_secret,
                           client=read_client())
    bot = Bot(
        app_id=installation.app_id, enterprise_id=installation.enterprise_id, team_id=installation.team_id,
        bot_token=current_token, bot_id=installation.bot_id or "", bot_user_id=installation.bot_user_id,
        bot_scopes=list(installation.scopes), installed_at=float(installation.installed_at),
        bot_refresh_token=decrypt_token(installation.tenant_id, installation.refresh_token_ciphertext),
        bot_token_expires_at=installation.token_expires_at,
    )
    try:
        rotated = rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=REFRESH_MINUTES_BEFORE_EXPIRY)
    except SlackTokenRotationError as exc:
        return _after_failed_rotation(installation, current_token, str(exc.api_error.response.get("error")))
    except Exception as exc:  # network trouble: keep the current token while it lasts
        return _after_failed_rotation(installation, current_token, type(exc).__name__)
    if rotated is None or not rotated.bot_token:
        return current_token
    tenant = installation.tenant_id
    stored = update_tokens(
        installation, token_ciphertext=encrypt_token(tenant, rotated.bot_token),
        refresh_token_ciphertext=encrypt_token(tenant, rotated.bot_refresh_token) if rotated.bot_refresh_token
        else None,
        expires_at=rotated.bot_token_expires_at)
    if stored is None:
        logger.info("token rotated concurrently; using the stored token", tenant_id=tenant)
        return _stored_token(tenant)
    logger.info("bot token rotated", tenant_id=tenant, expires_at=rotated.bot_token_expires_at)
    return rotated.bot_token


def _after_failed_rotation(installation: Installation, current_token: str, error: str) -> str:
    # Someone else may have rotated first (Slack then refuses our now-stale refresh token).
    latest = get_installation(installation.tenant_id)
    if latest is not None and latest.token_version != installation.token_version and latest.is_active:
        assert latest.token_ciphertext is not None
        return decrypt_token(latest.tenant_id, latest.token_ciphertext)
    if not _expired(installation):
        get_logger().warning("token refresh failed; current token still valid", tenant_id=installation.tenant_id,
                             error=error)
        return current_token
    raise TokenUnavailable(f"token expired and refresh failed: {error}", permanent=error in _PERMANENT_REFRESH_ERRORS)


def _stored_token(tenant_id: str) -> str:
    latest = get_installation(tenant_id)
    if latest is None or latest.token_ciphertext is None:
        raise TokenUnavailable("installation removed during token rotation", permanent=True)
    return decrypt_token(tenant_id, latest.token_ciphertext)
