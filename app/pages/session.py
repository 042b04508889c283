"""Sign-in sessions for the pages: a signed, HTTP-only cookie naming the API key (never the key itself),
and CSRF tokens bound to that cookie.

The cookie is `<key id>.<issued at>.<signature>`, the signature an HMAC-SHA256 over the id, the time and
the key's stored hash, so a revoked or replaced key ends its sessions and a forged id signs nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select

from app.models import ApiKey
from app.services.keys import Principal

COOKIE_NAME = "bookplan_session"
_KEYS = ApiKey.__table__  # type: ignore[attr-defined]


class PageSettings(BaseSettings):
    """Settings of the pages alone (environment, prefix `BOOKPLAN_`)."""

    model_config = SettingsConfigDict(env_prefix="BOOKPLAN_", extra="ignore")

    # Unset: a random secret per process, so sessions end when the service restarts. Set it (32+ random
    # characters) to keep them across restarts or to share them between several service processes.
    session_secret: str | None = Field(default=None, min_length=16)
    # "auto": Secure when the request came over https (behind a proxy, run uvicorn with --proxy-headers).
    session_cookie_secure: Literal["auto", "always", "never"] = "auto"
    session_max_age_seconds: int = Field(default=12 * 3600, ge=60, le=30 * 86_400)


@dataclass(frozen=True)
class PageSession:
    principal: Principal
    cookie: str
    csrf: str


class SessionSigner:
    def __init__(self, settings: PageSettings) -> None:
        self.settings = settings
        secret = settings.session_secret
        self._secret = secret.encode() if secret else secrets.token_bytes(32)

    def _sign(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def cookie_for(self, key_id: int, key_hash: str, issued: int | None = None) -> str:
        issued = int(time.time()) if issued is None else issued
        return f"{key_id}.{issued}.{self._sign('session', str(key_id), str(issued), key_hash)}"

    def csrf_for(self, cookie: str) -> str:
        return self._sign("csrf", cookie)[:40]

    def check_csrf(self, cookie: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_for(cookie), token)

    def parse(self, cookie: str) -> tuple[int, int, str] | None:
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            return None
        key_id, issued = int(parts[0]), int(parts[1])
        if time.time() - issued > self.settings.session_max_age_seconds:
            return None
        return key_id, issued, parts[2]

    def verify(self, key_id: int, issued: int, signature: str, key_hash: str) -> bool:
        expected = self._sign("session", str(key_id), str(issued), key_hash)
        return hmac.compare_digest(expected, signature)


def signer(request: Request) -> SessionSigner:
    """The app's signer, made on first use (one secret per app when none is configured)."""
    existing: SessionSigner | None = getattr(request.app.state, "page_signer", None)
    if existing is None:
        existing = SessionSigner(PageSettings())
        request.app.state.page_signer = existing
    return existing


def read_session(request: Request) -> PageSession | None:
    """The signed-in key, or None (no cookie, a bad signature, expired, or the key revoked since)."""
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie:
        return None
    sign = signer(request)
    parsed = sign.parse(cookie)
    if parsed is None:
        return None
    key_id, issued, signature = parsed
    db = request.app.state.db
    with db.session() as session:
        row = session.execute(
            select(_KEYS.c.id, _KEYS.c.name, _KEYS.c.scopes, _KEYS.c.key_hash).where(
                _KEYS.c.id == key_id, _KEYS.c.revoked_at.is_(None)
            )
        ).first()
    if row is None or not sign.verify(key_id, issued, signature, row[3]):
        return None
    principal = Principal(key_id=row[0], name=row[1], scopes=frozenset(row[2].split(",")))
    return PageSession(principal=principal, cookie=cookie, csrf=sign.csrf_for(cookie))


def key_hash_of(request: Request, key_id: int) -> str | None:
    db = request.app.state.db
    with db.session() as session:
        value = session.execute(select(_KEYS.c.key_hash).where(_KEYS.c.id == key_id)).scalar()
    return None if value is None else str(value)


def set_session_cookie(request: Request, response: Response, key_id: int, key_hash: str) -> None:
    sign = signer(request)
    mode = sign.settings.session_cookie_secure
    secure = mode == "always" or (mode == "auto" and request.url.scheme == "https")
    response.set_cookie(
        COOKIE_NAME,
        sign.cookie_for(key_id, key_hash),
        max_age=sign.settings.session_max_age_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
