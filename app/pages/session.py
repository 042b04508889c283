"""Sign-in sessions for the pages: a signed, HTTP-only cookie naming the API key (never the key itself)
and a `page_session` row, CSRF tokens bound to that cookie, and a login form protected from cross-site
posts.

The cookie is `<key id>.<issued at>.<session id>.<signature>`, the signature an HMAC-SHA256 over the
id, the time, the session and the key's stored hash, so a revoked or replaced key ends its sessions and a
forged id signs nothing; sign-out revokes the session's row, so a copy of the cookie stops working too.
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
from sqlalchemy import insert, select, update

from app.models import ApiKey, utcnow
from app.models import PageSession as PageSessionRow
from app.services.keys import Principal

COOKIE_NAME = "bookplan_session"
# A random value the login form's token is bound to: a cross-site page cannot read it, so it cannot post a
# login form (with its own key) that signs a visitor in as someone else.
LOGIN_COOKIE = "bookplan_login"
_KEYS = ApiKey.__table__  # type: ignore[attr-defined]
_SESSIONS = PageSessionRow.__table__  # type: ignore[attr-defined]


class PageSettings(BaseSettings):
    """Settings of the pages alone (environment, prefix `BOOKPLAN_`)."""

    model_config = SettingsConfigDict(env_prefix="BOOKPLAN_", extra="ignore")

    # Unset: a random secret per process, so sessions end when the service restarts. Set it (32+ random
    # characters) to keep them across restarts or to share them between several service processes.
    session_secret: str | None = Field(default=None, min_length=16)
    # "auto": Secure when the request came over https (behind a TLS proxy: list it in
    # BOOKPLAN_TRUSTED_PROXIES so its X-Forwarded-Proto is believed).
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

    def cookie_for(self, key_id: int, key_hash: str, session_id: str, issued: int | None = None) -> str:
        issued = int(time.time()) if issued is None else issued
        signature = self._sign("session", str(key_id), str(issued), session_id, key_hash)
        return f"{key_id}.{issued}.{session_id}.{signature}"

    def login_token_for(self, nonce: str) -> str:
        return self._sign("login", nonce)[:40]

    def check_login_token(self, nonce: str | None, token: str | None) -> bool:
        return (
            bool(nonce)
            and token is not None
            and hmac.compare_digest(self.login_token_for(nonce or ""), token)
        )

    def csrf_for(self, cookie: str) -> str:
        return self._sign("csrf", cookie)[:40]

    def check_csrf(self, cookie: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_for(cookie), token)

    def parse(self, cookie: str) -> tuple[int, int, str, str] | None:
        parts = cookie.split(".")
        if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit() or not parts[2].isalnum():
            return None
        key_id, issued = int(parts[0]), int(parts[1])
        if time.time() - issued > self.settings.session_max_age_seconds:
            return None
        return key_id, issued, parts[2], parts[3]

    def verify(self, key_id: int, issued: int, session_id: str, signature: str, key_hash: str) -> bool:
        expected = self._sign("session", str(key_id), str(issued), session_id, key_hash)
        return hmac.compare_digest(expected, signature)


def signer(request: Request) -> SessionSigner:
    """The app's signer, made on first use (one secret per app when none is configured)."""
    existing: SessionSigner | None = getattr(request.app.state, "page_signer", None)
    if existing is None:
        existing = SessionSigner(PageSettings())
        request.app.state.page_signer = existing
    return existing


def read_session(request: Request) -> PageSession | None:
    """The signed-in key, or None (no cookie, a bad signature, expired, signed out, or the key revoked)."""
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie:
        return None
    sign = signer(request)
    parsed = sign.parse(cookie)
    if parsed is None:
        return None
    key_id, issued, session_id, signature = parsed
    db = request.app.state.db
    with db.session() as session:
        row = session.execute(
            select(_KEYS.c.id, _KEYS.c.name, _KEYS.c.scopes, _KEYS.c.key_hash)
            .join(_SESSIONS, _SESSIONS.c.key_id == _KEYS.c.id)
            .where(
                _KEYS.c.id == key_id,
                _KEYS.c.revoked_at.is_(None),
                _SESSIONS.c.id == session_id,
                _SESSIONS.c.revoked_at.is_(None),
            )
        ).first()
    if row is None or not sign.verify(key_id, issued, session_id, signature, row[3]):
        return None
    principal = Principal(key_id=row[0], name=row[1], scopes=frozenset(row[2].split(",")))
    return PageSession(principal=principal, cookie=cookie, csrf=sign.csrf_for(cookie))


def end_session(request: Request, page: PageSession) -> None:
    """Sign-out: the session's row is revoked, so the cookie (or any copy of it) no longer signs in."""
    parsed = signer(request).parse(page.cookie)
    if parsed is None:
        return
    with request.app.state.db.writing() as session:
        session.execute(
            update(_SESSIONS)
            .where(_SESSIONS.c.id == parsed[2], _SESSIONS.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def key_hash_of(request: Request, key_id: int) -> str | None:
    db = request.app.state.db
    with db.session() as session:
        value = session.execute(select(_KEYS.c.key_hash).where(_KEYS.c.id == key_id)).scalar()
    return None if value is None else str(value)


def _cookie_secure(request: Request, sign: SessionSigner) -> bool:
    mode = sign.settings.session_cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def set_session_cookie(request: Request, response: Response, key_id: int, key_hash: str) -> None:
    """Starts a session: its row, then the cookie naming it."""
    sign = signer(request)
    session_id = secrets.token_hex(16)
    with request.app.state.db.writing() as session:
        session.execute(insert(_SESSIONS).values(id=session_id, key_id=key_id, created_at=utcnow()))
    response.set_cookie(
        COOKIE_NAME,
        sign.cookie_for(key_id, key_hash, session_id),
        max_age=sign.settings.session_max_age_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_cookie_secure(request, sign),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict")


def login_form_token(request: Request, response: Response) -> str:
    """The login form's token, bound to a random value in a cookie of the login page (set when absent)."""
    sign = signer(request)
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or len(nonce) != 32 or not nonce.isalnum():
        nonce = secrets.token_hex(16)
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=3600,
            path="/login",
            httponly=True,
            samesite="strict",
            secure=_cookie_secure(request, sign),
        )
    return sign.login_token_for(nonce)


def login_post_allowed(request: Request, token: str | None) -> bool:
    """A login post came from this site's own form: its Origin (when sent) is this site, and its token
    matches the login page's cookie. A cross-site form has neither."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return False
    return signer(request).check_login_token(request.cookies.get(LOGIN_COOKIE), token)


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
