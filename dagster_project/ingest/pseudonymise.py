"""Keyed pseudonyms (HMAC-SHA-256) for person, household and case numbers.

The HMAC is computed inside DuckDB (vectorised, no row-wise Python):
    HMAC(K, m) = SHA256((K' xor opad) || SHA256((K' xor ipad) || m))
with K' the key padded to the 64-byte block (RFC 2104). `hmac_hex` is the reference in Python;
the tests show that both agree.
"""

from __future__ import annotations

import hashlib
import hmac

BLOCK_SIZE = 64


def hmac_pads(key: bytes) -> dict[str, bytes]:
    """The inner and outer padded keys, passed to DuckDB as query parameters."""
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK_SIZE, b"\0")
    return {
        "hmac_ipad": bytes(b ^ 0x36 for b in key),
        "hmac_opad": bytes(b ^ 0x5C for b in key),
    }


def hmac_sql(expression: str) -> str:
    """SQL for the HMAC-SHA-256 (hex) of a VARCHAR expression; needs the `hmac_pads` parameters."""
    return f"sha256($hmac_opad || unhex(sha256($hmac_ipad || encode({expression}))))"


def hmac_hex(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
