"""The import page: upload the accounts CSV and the CSMs CSV of a CRM, see how each column was understood
and every problem by row and column, map a column by hand, add a segment for a value the CRM uses, then
import all or nothing as a new book revision (ops only, CSRF-checked like every form).

The uploaded files travel with the form (base64 in hidden fields) between checks, so nothing is stored
until the person presses Import.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.errors import BookError, Conflict
from app.pages.common import OPS, _db, _stored_book, _text, guard, guard_post, render
from app.services.book_import import (
    ImportFiles,
    add_segment,
    field_choices,
    import_book_files,
    preview_import,
)
from app.services.csv_columns import Kind
from app.services.csv_io import CsvErrors
from solver.schema import TierPolicy, known_segments

router = APIRouter(include_in_schema=False)
KINDS: tuple[Kind, ...] = ("accounts", "csms")
IGNORE = "-"


@router.get("/import")
def import_page(request: Request) -> Response:
    page = guard(request, OPS, "importing a book")
    if isinstance(page, Response):
        return page
    book, revision = _stored_book(request)
    context: dict[str, Any] = {
        "session": page,
        "preview": None,
        "carried": {},
        "errors": {},
        "revision": revision,
    }
    context.update(segment_policy=book.policy, known=known_segments(book.policy), choices=_choices())
    return render(request, "import.html", context)


@router.post("/import")
async def import_submit(request: Request) -> Response:
    # Hidden fields carry whole files between checks: allow parts as large as the body limit.
    limit = request.app.state.settings.max_body_bytes
    form = await request.form(max_part_size=limit)
    return await run_in_threadpool(_import_submit, request, form)


def _choices() -> dict[str, list[str]]:
    return {kind: field_choices(kind) for kind in KINDS}


def _files_from_form(form: Any) -> tuple[ImportFiles, dict[str, str]]:
    """The files (a new upload wins over the one carried), hand mappings and added segments of the form."""
    files = ImportFiles()
    errors: dict[str, str] = {}
    for kind in KINDS:
        upload = form.get(f"{kind}_file")
        data: bytes | None = None
        name = ""
        if isinstance(upload, UploadFile) and upload.filename:
            data, name = upload.file.read(), upload.filename
        elif _text(form, f"{kind}_data"):
            try:
                data = base64.b64decode(_text(form, f"{kind}_data"), validate=True)
            except (binascii.Error, ValueError):
                errors[kind] = "The carried file was damaged; choose it again."
            name = _text(form, f"{kind}_name")
        if data is not None and data.strip():
            setattr(files, kind, data)
            setattr(files, f"{kind}_name", name or f"{kind}.csv")
            if not isinstance(upload, UploadFile) or not upload.filename:
                mapping = {
                    _text(form, f"column:{kind}:{i}"): _text(form, f"map:{kind}:{i}")
                    for i in range(_count(form, f"columns:{kind}"))
                }
                files.mappings[kind] = {c: ("" if f == IGNORE else f) for c, f in mapping.items() if c}
    try:
        raw = json.loads(_text(form, "segments") or "{}")
        files.segments = {str(k): TierPolicy.model_validate(v) for k, v in dict(raw).items()}
    except (ValueError, TypeError, ValidationError):
        errors["segments"] = "The added segments were damaged; add them again."
    return files, errors


def _count(form: Any, name: str) -> int:
    try:
        return max(0, min(1000, int(_text(form, name) or 0)))
    except ValueError:
        return 0


def _add_segment_from_form(form: Any, files: ImportFiles, policy: Any, index: str) -> str | None:
    """Adds the segment the person described for one unknown value; returns an error in words, or None."""
    value = _text(form, f"seg_value:{index}")
    name = _text(form, f"seg_name:{index}")
    hours_text = _text(form, f"seg_hours:{index}").replace(",", ".")
    try:
        hours = float(hours_text) if hours_text else None
    except ValueError:
        return f"Hours a year: {hours_text!r} is not a number."
    try:
        updated = add_segment(policy, name, hours, value)
    except BookError as exc:
        return exc.message
    files.segments[name] = updated.tiers[name]
    return None


def _import_submit(request: Request, form: Any) -> Response:
    page = guard_post(request, form, OPS, "importing a book")
    if isinstance(page, Response):
        return page
    files, errors = _files_from_form(form)
    stored, revision = _stored_book(request)
    action = _text(form, "action")
    # The segment whose Add was pressed, and any other whose hours were typed (Enter in a field submits
    # the form through its first button, Check: what was typed is not lost).
    chosen = [
        str(i)
        for i in range(_count(form, "seg_count"))
        if action == f"add:{i}" or _text(form, f"seg_hours:{i}")
    ]
    for index in chosen:
        policy = preview_import(stored, files).policy
        problem = _add_segment_from_form(form, files, policy, index)
        if problem:
            errors["segment"] = problem
    preview = preview_import(stored, files)
    if action == "import" and not errors:
        try:
            seen = int(_text(form, "revision") or revision)
            with _db(request).write_session() as session:
                import_book_files(session, files, page.principal.name, seen)
        except CsvErrors as exc:
            errors["import"] = f"Nothing was imported: {exc.total} problems (listed below)."
        except (BookError, Conflict) as exc:
            errors["import"] = f"Nothing was imported: {exc.message}"
        else:
            return RedirectResponse("/?imported=1", status_code=303)
    carried = {
        kind: {"data": base64.b64encode(data).decode(), "name": getattr(files, f"{kind}_name")}
        for kind in KINDS
        if (data := getattr(files, kind)) is not None
    }
    segments = json.dumps(
        {k: v.model_dump(mode="json", exclude_unset=True) for k, v in files.segments.items()}
    )
    context = {
        "session": page,
        "preview": preview,
        "carried": carried,
        "segments_json": segments,
        "errors": errors,
        "revision": revision,
        "segment_policy": preview.policy,
        "known": known_segments(preview.policy),
        "choices": _choices(),
    }
    return render(request, "import.html", context)
