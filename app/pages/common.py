"""What every page shares: the templates and their filters, the security headers, `render`, the sign-in
guards (`guard`, and `guard_post` with its CSRF check), reading a posted form off the event loop, the
stored book cached per revision, and the 403/404/"not possible" pages.

Pages admit the same scopes as the API: ops everything; hr the book summary and hiring gaps; scheduler
plans (start and read).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from app.core.db import Database
from app.errors import BookError, DomainError
from app.pages import views
from app.pages.session import PageSession, read_session, signer
from app.services import book as book_service
from app.services import plans as plan_service
from solver.schema import Book

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
templates.env.filters.update(
    money=views.money,
    hours=views.hours,
    percent=views.percent,
    tier=views.tier_filter,
    when=views.when,
    segment=views.path_segment,
)

OPS = ("ops",)
BOOK_READERS = ("ops", "hr")
PLAN_READERS = ("ops", "scheduler")
ACTIVE = ("queued", "running")
PAGE_SIZE = 50
MOVES_SHOWN = 1000
# Pages load only their own stylesheet and script; no framing, so an approve button cannot be clickjacked.
# Inline style attributes stay allowed (chart axis labels are placed with them); inline scripts do not.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _safe_next(target: str | None) -> str:
    """Only a path on this site: `next` must not send a signed-in person elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200, **extra: Any
) -> HTMLResponse:
    page: PageSession | None = context.get("session")
    scopes = page.principal.scopes if page else frozenset()
    base = {
        "session": page,
        "can_ops": "ops" in scopes,
        "can_book": bool(scopes & set(BOOK_READERS)),
        "can_plans": bool(scopes & set(PLAN_READERS)),
        "path": request.url.path,
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    for key, value in extra.items():
        response.headers[key] = value
    return response


def _forbidden(request: Request, page: PageSession, scopes: tuple[str, ...], what: str) -> HTMLResponse:
    have = ", ".join(sorted(page.principal.scopes))
    message = f"Your key “{page.principal.name}” has scope {have}; {what} needs {' or '.join(scopes)}."
    return render(request, "forbidden.html", {"session": page, "message": message}, status_code=403)


def guard(request: Request, scopes: tuple[str, ...], what: str) -> PageSession | Response:
    """The signed-in session if it holds one of `scopes`; else a redirect to sign in, or a 403 page."""
    page = read_session(request)
    if page is None:
        return _login_redirect(request)
    if not page.principal.scopes.intersection(scopes):
        return _forbidden(request, page, scopes, what)
    return page


def guard_post(request: Request, form: Any, scopes: tuple[str, ...], what: str) -> PageSession | Response:
    """`guard` for a form that changes state: also checks the form's CSRF token."""
    page = guard(request, scopes, what)
    if isinstance(page, Response):
        return page
    token = form.get("csrf")
    if not signer(request).check_csrf(page.cookie, token if isinstance(token, str) else None):
        message = (
            "The form had expired or did not come from this site; nothing was changed. Reload and retry."
        )
        return render(request, "forbidden.html", {"session": page, "message": message}, status_code=403)
    return page


async def posted(request: Request, handler: Callable[..., Response], *args: Any) -> Response:
    """Reads the form, then runs `handler(request, form, *args)` in the thread pool: it queries the
    database, which must not block the event loop."""
    form = await request.form()
    return await run_in_threadpool(handler, request, form, *args)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _stored_book(request: Request) -> tuple[Book, int]:
    """The stored book, cached per revision: several pages read it and it rarely changes."""
    db = _db(request)
    revision = book_service.current_revision(db)
    cached = getattr(request.app.state, "page_book_cache", None)
    if cached is not None and cached[0] == revision:
        return cached[1], revision
    book, read_revision = plan_service.stored_book_snapshot(db)
    request.app.state.page_book_cache = (read_revision, book)
    return book, read_revision


def _error_page(
    request: Request, page: PageSession, exc: DomainError | BookError, status: int
) -> HTMLResponse:
    message = getattr(exc, "message", str(exc))
    return render(
        request, "forbidden.html", {"session": page, "message": message, "title": "Not possible"}, status
    )


def _not_found(request: Request, page: PageSession, message: str) -> HTMLResponse:
    return render(
        request,
        "forbidden.html",
        {"session": page, "title": "Not found", "message": message},
        status_code=404,
    )
