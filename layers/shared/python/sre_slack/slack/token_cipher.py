"""Bot and refresh tokens are encrypted with the stack's KMS key before they reach DynamoDB.

The encryption context binds a ciphertext to its tenant: a ciphertext copied into another tenant's record does
not decrypt. Decrypted tokens are cached per container for a few minutes because every posted investigation
needs one and KMS calls cost latency.
"""

from __future__ import annotations

import base64
import time
from functools import lru_cache
from typing import Any

import boto3

from sre_slack.contracts.settings import get_settings

_PURPOSE = "slack-token"
_CACHE_SECONDS = 300.0
_cache: dict[tuple[str, str], tuple[float, str]] = {}


@lru_cache(maxsize=1)
def _kms() -> Any:
    return boto3.client("kms")


def _context(tenant_id: str) -> dict[str, str]:
    return {"tenant_id": tenant_id, "purpose": _PURPOSE}


def encrypt_token(tenant_id: str, token: str) -> str:
    response = _kms().encrypt(
        KeyId=get_settings().require("kms_key_id"),
        Plaintext=token.encode(),
        EncryptionContext=_context(tenant_id),
    )
    return base64.b64encode(response["CiphertextBlob"]).decode()


def decrypt_token(tenant_id: str, ciphertext: str) -> str:
    now = time.monotonic()
    cached = _cache.get((tenant_id, ciphertext))
    if cached and cached[0] > now:
        return cached[1]
    response = _kms().decrypt(
        CiphertextBlob=base64.b64decode(ciphertext),
        EncryptionContext=_context(tenant_id),
    )
    token = response["Plaintext"].decode()
    _cache[(tenant_id, ciphertext)] = (now + _CACHE_SECONDS, token)
    return token


def clear_cache() -> None:
    _cache.clear()
    _kms.cache_clear()
