"""The pages for CS ops people, one router: sign-in, the book and a CSM, plans (start, progress, review,
approve or discard), hiring gaps (+ CSV) and the audit log. Server-rendered (Jinja2, inline SVG charts).

Each page area is a module of its own (`signin`, `book_pages`, `plan_start`, `plan_review`, `hiring`,
`audit_log`; what they share is in `common`); this one assembles their routes in one router, in the order
they are matched (`/plans/{plan_id}/progress` before `/plans/{plan_id}/{action}`).

Pages call the services with a database session, never the HTTP API, and admit the same scopes as the
API: ops everything; hr the book summary and hiring gaps; scheduler plans (start and read). Every route is
left out of the OpenAPI document.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.pages import audit_log, book_pages, hiring, plan_review, plan_start, signin

router = APIRouter(include_in_schema=False)
for _area in (signin, book_pages, plan_start, plan_review, hiring, audit_log):
    router.include_router(_area.router)
