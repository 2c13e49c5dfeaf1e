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
import threading
import uuid

import duckdb

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


CACHE_MAX_ENTRIES = 5_000_000  # about 300 MB; a city's persons and households of a decade


class PseudonymCache:
    """The identifiers a batch of deliveries has hashed so far, with their pseudonyms, shared by
    the batch's cursors: most persons are in every extract and most Bedarfsgemeinschaften in many
    months, so each is hashed once per batch instead of once per delivery.

    It lives in an in-memory database attached for the batch and detached (dropped) at its end;
    it holds identifiers only as long as the deliveries being loaded do, never on disk beyond
    what DuckDB itself would spill of those. It is valid for one key only, and at most
    `max_entries` values are kept (beyond that, new values are hashed every time)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, max_entries: int | None = None) -> None:
        self.name = f"dft_pseudonym_cache_{uuid.uuid4().hex[:12]}"
        self.table = f"{self.name}.pseudonyms"
        self.max_entries = CACHE_MAX_ENTRIES if max_entries is None else max_entries
        self.entries = 0
        self._lock = threading.Lock()
        self._con = con
        con.execute(f"ATTACH ':memory:' AS {self.name}")
        con.execute(f"CREATE TABLE {self.table} (value VARCHAR, pseudonym {PSEUDONYM_SQL_TYPE})")

    def add(self, con: duckdb.DuckDBPyConnection) -> None:
        """Remember the values of `delivery_pseudonyms` (on `con`) that are not cached yet."""
        with self._lock:
            room = self.max_entries - self.entries
            if room <= 0:
                return
            added = con.execute(
                f"INSERT INTO {self.table} SELECT value, pseudonym FROM delivery_pseudonyms "
                f"WHERE value NOT IN (SELECT value FROM {self.table}) LIMIT {room}").fetchone()[0]
            self.entries += added

    def close(self) -> None:
        self._con.execute(f"DETACH {self.name}")
