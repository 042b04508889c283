"""Sign-in and sign-out: the key form (with its own login-CSRF token), the session cookie it sets, and
where a signed-in person lands."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.pages.common import BOOK_READERS, _db, _safe_next, _text, posted, render
from app.pages.session import (
    clear_session_cookie,
    end_session,
    key_hash_of,
    login_form_token,
    login_post_allowed,
    read_session,
    set_session_cookie,
    signer,
)
from app.services.keys import authenticate

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    page = read_session(request)
    if page is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, {"next": _safe_next(next), "values": {}, "errors": {}})


def _login_page(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    """The sign-in form, with its token (and the cookie it is bound to when the visitor has none)."""
    holder = Response()
    token = login_form_token(request, holder)
    response = render(request, "login.html", {**context, "login_token": token}, status_code=status_code)
    for name, value in holder.raw_headers:
        if name == b"set-cookie":
            response.raw_headers.append((name, value))
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    return await posted(request, _login)


def _login(request: Request, form: Any) -> Response:
    key = _text(form, "key")
    target = _safe_next(_text(form, "next") or "/")
    errors: dict[str, str] = {}
    principal = None
    if not login_post_allowed(request, _text(form, "login_token") or None):
        # A cross-site form (login CSRF) or an expired page: nobody is signed in by it.
        errors["key"] = "This sign-in form had expired or came from another site; sign in again here."
        context = {"next": target, "values": {}, "errors": errors}
        return _login_page(request, context, status_code=403)
    if not key:
        errors["key"] = "Enter an API key (from `bookplan keys create --scope ops`)."
    elif len(key) > 200:
        errors["key"] = f"That is not an API key ({len(key)} characters; keys are about 46)."
    else:
        with _db(request).session() as session:
            principal = authenticate(session, key)
        if principal is None:
            errors["key"] = "This key is not valid: unknown, mistyped or revoked."
    if errors or principal is None:
        context = {"next": target, "values": {"key": key}, "errors": errors}
        # 200, not 422: browsers log a 4xx page as a console error, and this is the form, shown again.
        return _login_page(request, context)
    key_hash = key_hash_of(request, principal.key_id)
    assert key_hash is not None  # just authenticated by it
    if principal.scopes.isdisjoint(BOOK_READERS) and target == "/":
        target = "/plans"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, principal.key_id, key_hash)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    return await posted(request, _logout)


def _logout(request: Request, form: Any) -> Response:
    page = read_session(request)
    if page is not None:
        token = form.get("csrf")
        if not signer(request).check_csrf(page.cookie, token if isinstance(token, str) else None):
            message = "The sign-out form had expired; reload the page and sign out again."
            return render(request, "forbidden.html", {"session": page, "message": message}, status_code=403)
        end_session(request, page)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response
