"""Keyed pseudonyms (HMAC-SHA-256) for person, household and case numbers.

The HMAC is computed inside DuckDB (vectorised, no row-wise Python):
    HMAC(K, m) = SHA256((K' xor opad) || SHA256((K' xor ipad) || m))
with K' the key padded to the 64-byte block (RFC 2104). The pseudonym is the HMAC truncated to
its first 128 bits (RFC 2104 section 5, NIST SP 800-107), stored as a 16-byte UUID value: joins
and storage of a fixed-size value are several times faster than of 64 hex characters, and 128 bits
leave no practical chance of two persons sharing a pseudonym. `pseudonym` is the reference in
Python; the tests show that both agree.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

BLOCK_SIZE = 64
PSEUDONYM_HEX_DIGITS = 32  # 128 bits
PSEUDONYM_SQL_TYPE = "UUID"


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
    """SQL for the pseudonym (truncated HMAC-SHA-256 as UUID) of a VARCHAR expression; needs the
    `hmac_pads` parameters."""
    digest = f"sha256($hmac_opad || unhex(sha256($hmac_ipad || encode({expression}))))"
    return f"CAST(left({digest}, {PSEUDONYM_HEX_DIGITS}) AS {PSEUDONYM_SQL_TYPE})"


def hmac_hex(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonym(key: bytes, value: str) -> uuid.UUID:
    """The pseudonym as DuckDB stores it (Python reference for the tests)."""
    return uuid.UUID(hmac_hex(key, value)[:PSEUDONYM_HEX_DIGITS])
