"""API keys: random secrets shown once, stored as SHA-256 hashes.

A key has 256 bits of randomness, so a plain SHA-256 is enough (no password-style stretching needed), and
lets a request be authenticated with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "bp_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + 6]
