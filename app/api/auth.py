"""API keys checked before anything else: the key (401) and the route's scope (403) are judged from the
headers alone, so an anonymous or under-privileged caller never gets a body read, parsed or buffered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Request, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import domain_error_response
from app.errors import Forbidden, Unauthorized
from app.services.keys import KeyCache, Principal, authenticate, cached_principal

_PRINCIPAL = "bookplan_principal"
# Declares the scheme in the OpenAPI document; the key itself is read by the middleware below.
bearer = HTTPBearer(auto_error=False, description="An API key from `bookplan keys create --scope ...`.")
_SCOPES_ATTRIBUTE = "bookplan_scopes"


def bearer_secret(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header (scheme case-insensitive), else None."""
    if not authorization:
        return None
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


async def principal_for(state: Any, secret: str | None) -> Principal:
    """The key's principal, from the cache or the database (in the thread pool); 401 when there is none."""
    if secret is None:
        raise Unauthorized("Authorization: send `Authorization: Bearer <key>`", field="Authorization")
    cache: KeyCache | None = getattr(state, "key_cache", None)
    hit, principal = cached_principal(secret, cache)
    if not hit:
        db = state.db

        def lookup() -> Principal | None:
            with db.session() as session:
                return authenticate(session, secret, cache)

        principal = await run_in_threadpool(lookup)
    if principal is None:
        raise Unauthorized("Authorization: the key is not valid (unknown or revoked)", field="Authorization")
    return principal


def check_scopes(principal: Principal, scopes: tuple[str, ...]) -> None:
    """403 unless the key holds one of the route's scopes."""
    if not principal.scopes.intersection(scopes):
        raise Forbidden(
            f"Authorization: key {principal.name!r} has scope {', '.join(sorted(principal.scopes))}; "
            f"this route needs {' or '.join(scopes)}",
            field="Authorization",
        )


def require_scopes(*scopes: str) -> Callable[..., Principal]:
    """A route dependency admitting keys holding any of `scopes`: 401 without a valid key, 403 without the
    scope. `AuthBeforeBodyMiddleware` has normally judged the key already; this reuses its answer."""

    async def dependency(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Principal:
        principal: Principal | None = request.scope.get("state", {}).get(_PRINCIPAL)
        if principal is None:
            secret = bearer_secret(request.headers.get("authorization"))
            principal = await principal_for(request.app.state, secret)
        check_scopes(principal, scopes)
        return principal

    setattr(dependency, _SCOPES_ATTRIBUTE, scopes)
    return dependency  # type: ignore[return-value]


def _scopes_of(dependant: Any) -> tuple[str, ...] | None:
    for sub in dependant.dependencies:
        found = getattr(sub.call, _SCOPES_ATTRIBUTE, None)
        if found is not None:
            return tuple(found)
        deeper = _scopes_of(sub)
        if deeper is not None:
            return deeper
    return None


class AuthBeforeBodyMiddleware:
    """Every `/v1` request shows a valid key before its body is read; a matched route's scope is checked
    here too. The principal is handed to the route's dependency through the request state."""

    def __init__(self, app: ASGIApp, routes: list[Any]) -> None:
        self.app = app
        # The routers' own routes (their paths carry the prefix): matched here as Starlette would.
        self._routes = [
            (route, _scopes_of(route.dependant)) for route in routes if isinstance(route, APIRoute)
        ]

    def _route_scopes(self, scope: Scope) -> tuple[str, ...] | None:
        for route, scopes in self._routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return scopes
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/v1" or path.startswith("/v1/")):
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            principal = await principal_for(scope["app"].state, bearer_secret(authorization))
            scopes = self._route_scopes(scope)
            if scopes is not None:
                check_scopes(principal, scopes)
        except Unauthorized as exc:
            await domain_error_response(exc, 401)(scope, receive, send)
            return
        except Forbidden as exc:
            await domain_error_response(exc, 403)(scope, receive, send)
            return
        scope.setdefault("state", {})[_PRINCIPAL] = principal
        await self.app(scope, receive, send)
