"""Creating, listing, revoking and checking API keys."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from app.core.security import display_prefix, hash_key, new_key
from app.errors import BookError, Conflict, NotFound
from app.models import SCOPES, ApiKey, utcnow


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name (recorded as "who asked" and in the audit log) and its scopes."""

    key_id: int
    name: str
    scopes: frozenset[str]


Actor = Principal | str
"""Who changed something: an API key's principal, or a plain name (the CLI, the service itself)."""


def actor_name(actor: Actor) -> str:
    return actor if isinstance(actor, str) else actor.name


def actor_key_id(actor: Actor) -> int | None:
    """The key id recorded beside the name, since two keys may share a name."""
    return None if isinstance(actor, str) else actor.key_id


def create_key(session: Session, scopes: list[str], name: str | None = None) -> tuple[ApiKey, str]:
    if not scopes:
        raise BookError("scope: give at least one of " + ", ".join(SCOPES), field="scope")
    for scope in scopes:
        if scope not in SCOPES:
            raise BookError(
                f"scope: unknown scope {scope!r} (expected {', '.join(SCOPES)})", field="scope", value=scope
            )
    secret = new_key()
    key = ApiKey(
        name=name or f"{'+'.join(scopes)}-{display_prefix(secret)}",
        scopes=",".join(dict.fromkeys(scopes)),
        key_hash=hash_key(secret),
        prefix=display_prefix(secret),
    )
    session.add(key)
    session.commit()
    session.refresh(key)
    return key, secret


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())  # type: ignore[arg-type]


def revoke_key(session: Session, key_id_or_prefix: str) -> ApiKey:
    """Revoke the key named by its id, its prefix or its name; a prefix or name that several active keys
    share revokes none of them (409 listing their ids: revoke by id)."""
    if key_id_or_prefix.isdigit():
        query = select(ApiKey).where(ApiKey.id == int(key_id_or_prefix))  # type: ignore[arg-type]
    else:
        query = select(ApiKey).where(
            (ApiKey.prefix == key_id_or_prefix) | (ApiKey.name == key_id_or_prefix)  # type: ignore[arg-type]
        )
    found = list(session.execute(query.order_by(ApiKey.id)).scalars())  # type: ignore[arg-type]
    active = [k for k in found if k.revoked_at is None]
    if len(active) > 1:
        listed = ", ".join(f"{k.id} ({k.scopes}, created {k.created_at:%Y-%m-%d})" for k in active)
        raise Conflict(
            f"key: {len(active)} active keys are named {key_id_or_prefix!r}: ids {listed}; "
            "revoke one by its id (`bookplan keys revoke ID`)",
            field="key",
            value=key_id_or_prefix,
        )
    key = active[0] if active else (found[0] if found else None)
    if key is None:
        raise NotFound(
            f"no API key with id, prefix or name {key_id_or_prefix!r}", field="key", value=key_id_or_prefix
        )
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.commit()
    return key


class KeyCache:
    """Recently checked keys, so a busy client costs one hash and no query; entries live a few seconds,
    which bounds how long a revoked key keeps working."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> tuple[bool, Principal | None]:
        with self._lock:
            entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, digest: str, principal: Principal | None) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + self.ttl, principal)


def cached_principal(secret: str, cache: KeyCache | None) -> tuple[bool, Principal | None]:
    """(True, principal or None) when the cache knows this key; (False, None) when it must be looked up."""
    if cache is None or cache.ttl <= 0:
        return False, None
    return cache.get(hash_key(secret))


def authenticate(session: Session, secret: str, cache: KeyCache | None = None) -> Principal | None:
    digest = hash_key(secret)
    if cache is not None and cache.ttl > 0:
        hit, principal = cache.get(digest)
        if hit:
            return principal
    keys = ApiKey.__table__  # type: ignore[attr-defined]
    row = session.execute(
        select(keys.c.id, keys.c.name, keys.c.scopes).where(
            keys.c.key_hash == digest, keys.c.revoked_at.is_(None)
        )
    ).first()
    principal = (
        None if row is None else Principal(key_id=row[0], name=row[1], scopes=frozenset(row[2].split(",")))
    )
    if cache is not None and cache.ttl > 0:
        cache.put(digest, principal)
    return principal
