"""Loading a book from CRM exports, as the import page does it: the accounts CSV and the CSMs CSV read
together, columns mapped by the headers or by hand, segments added to the policy for values the CRM uses,
then stored all or nothing as a new book revision with one audit event.

`preview_import` says how each file was understood and lists every problem; `import_book_files` runs the
same reading again inside the write transaction and stores the book only when nothing is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from app.errors import BookError, Conflict
from app.models import BookReplaced
from app.services.book import load_book, lock_book, write_book
from app.services.csv_columns import COLUMNS, Kind
from app.services.csv_io import (
    CsvErrors,
    Parsed,
    Problem,
    describe_table,
    parse_accounts,
    parse_csms,
    read_table,
)
from app.services.keys import Actor
from solver.errors import describe_validation_error
from solver.schema import SEGMENT_PATTERN, Book, Policy, TierPolicy, known_segments

SAMPLE_ROWS = 5


@dataclass
class ImportFiles:
    """What the person uploaded and decided: file contents, hand-made column mappings, added segments."""

    accounts: bytes | None = None
    csms: bytes | None = None
    accounts_name: str = ""
    csms_name: str = ""
    mappings: dict[Kind, dict[str, str]] = field(default_factory=lambda: {"accounts": {}, "csms": {}})
    segments: dict[str, TierPolicy] = field(default_factory=dict)


@dataclass
class ColumnView:
    name: str
    field: str | None
    guessed: str | None
    samples: list[str]


@dataclass
class FileView:
    """How one file was understood: its reading, columns, first rows as parsed, and problems."""

    kind: Kind
    name: str
    reading: str
    columns: list[ColumnView]
    sample: list[tuple[int, dict[str, Any]]]
    rows: int
    problems: list[Problem]


@dataclass
class ImportPreview:
    files: list[FileView]
    policy: Policy
    book_problems: list[str]
    unknown_segments: dict[str, str]  # CRM value → the segment name the page suggests
    book: Book | None

    @property
    def problem_count(self) -> int:
        return sum(len(f.problems) for f in self.files) + len(self.book_problems)


def field_choices(kind: Kind) -> list[str]:
    """The fields a column of this file may be mapped to (for the page's select boxes)."""
    return list(COLUMNS[kind])


def suggested_segment_name(value: str) -> str:
    """A segment name for a CRM value: "Key Accounts" → "key_accounts" (a letter first, 40 at most)."""
    name = re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")
    if not name or not name[0].isalpha():
        name = "segment_" + name
    return name[:40].rstrip("_")


def add_segment(policy: Policy, name: str, hours_per_year: float | None, value: str) -> Policy:
    """The policy with a CRM value as an alias of a segment: a new one needs its hours a year (the value
    becomes its label); an existing one (built-in or the book's) keeps its service model unless given hours."""
    if not re.fullmatch(SEGMENT_PATTERN, name):
        raise BookError(
            f"segment name: {name!r} must be lower case letters, digits and _, starting with a letter",
            field="segment_name",
            value=name,
        )
    exists = name in known_segments(policy)
    if hours_per_year is None and not exists:
        raise BookError(
            f"segment hours: a new segment {name!r} needs its hours a year per account",
            field="segment_hours",
        )
    tiers = dict(policy.tiers)
    current = tiers.get(name)
    values: dict[str, Any] = current.model_dump(exclude_unset=True) if current else {}
    values["aliases"] = list(dict.fromkeys([*(current.aliases if current else []), value.strip()]))
    if hours_per_year is not None:
        values["hours_per_year"] = hours_per_year
        values.pop("activities", None)
    if not exists:
        values["label"] = value.strip()
    try:
        tiers[name] = TierPolicy.model_validate(values)
    except ValidationError as exc:
        raise BookError(describe_validation_error(exc), field="segment_hours", value=hours_per_year) from None
    return policy.model_copy(update={"tiers": tiers})


def _file_view(kind: Kind, name: str, parsed: Parsed) -> FileView:
    table = parsed.table
    columns = []
    for i, column in enumerate(table.header):
        samples = [cells[i] for _line, cells in table.rows[:SAMPLE_ROWS] if i < len(cells)]
        columns.append(ColumnView(column, table.fields[i], table.guessed[i], samples))
    return FileView(
        kind=kind,
        name=name,
        reading=describe_table(table),
        columns=columns,
        sample=parsed.rows[:SAMPLE_ROWS],
        rows=len(table.rows),
        problems=parsed.problems,
    )


def _read(kind: Kind, data: bytes, name: str, overrides: Mapping[str, str]) -> Any:
    try:
        return read_table(data, kind, overrides)
    except CsvErrors as exc:
        return FileView(kind, name, "could not be read", [], [], 0, exc.problems)


def preview_import(stored: Book, files: ImportFiles) -> ImportPreview:
    """Both files read with the stored book's policy plus the added segments; the book they would make."""
    policy = stored.policy
    for segment, definition in files.segments.items():
        policy = policy.model_copy(update={"tiers": {**policy.tiers, segment: definition}})
    views: list[FileView] = []
    csms = stored.csms
    csms_parsed: Parsed | None = None
    accounts_parsed: Parsed | None = None
    if files.csms is not None:
        table = _read("csms", files.csms, files.csms_name, files.mappings.get("csms", {}))
        if isinstance(table, FileView):
            views.append(table)
        else:
            csms_parsed = parse_csms(table, policy)
            views.append(_file_view("csms", files.csms_name, csms_parsed))
            csms = csms_parsed.items
    if files.accounts is not None:
        table = _read("accounts", files.accounts, files.accounts_name, files.mappings.get("accounts", {}))
        if isinstance(table, FileView):
            views.append(table)
        else:
            accounts_parsed = parse_accounts(table, csms, policy)
            views.append(_file_view("accounts", files.accounts_name, accounts_parsed))
    unknown = {
        value: suggested_segment_name(value)
        for parsed in (csms_parsed, accounts_parsed)
        if parsed is not None
        for value in parsed.unknown_segments
    }
    book: Book | None = None
    book_problems: list[str] = []
    if not views:
        book_problems.append("Choose an accounts CSV, a CSMs CSV, or both.")
    elif not any(v.problems for v in views):
        try:
            book = _assemble(stored, policy, accounts_parsed, csms_parsed)
        except BookError as exc:
            book_problems.append(exc.message)
    return ImportPreview(views, policy, book_problems, unknown, book)


def _assemble(stored: Book, policy: Policy, accounts: Parsed | None, csms: Parsed | None) -> Book:
    """The new book: the files' accounts and CSMs (else the stored ones), the policy, the pairs still valid."""
    account_list = accounts.items if accounts is not None else stored.accounts
    csm_list = csms.items if csms is not None else stored.csms
    account_ids = {a.id for a in account_list}
    csm_ids = {c.id for c in csm_list}
    pairs = [p for p in stored.pairs if p.account in account_ids and p.csm in csm_ids]
    try:
        return Book.model_validate(
            {
                "accounts": [a.model_dump() for a in account_list],
                "csms": [c.model_dump() for c in csm_list],
                "policy": policy.model_dump(exclude_unset=True),
                "pairs": [p.model_dump() for p in pairs],
            }
        )
    except ValidationError as exc:
        message = describe_validation_error(exc)
        if csms is not None and accounts is None and "current_csm" in message:
            message += " (the stored accounts' owners must be in the CSMs file: upload the accounts too)"
        raise BookError(message) from None


def import_book_files(
    session: Session, files: ImportFiles, actor: Actor, seen_revision: int | None
) -> BookReplaced:
    """Store the book the files make, all or nothing, as a new revision with a `book_imported` event."""
    lock_book(session)  # the book header first, as every write of the book takes it
    stored, revision = load_book(session)
    if seen_revision is not None and revision != seen_revision:
        raise Conflict(
            f"the stored book changed while you checked the files (revision {seen_revision} → {revision}): "
            "check them again"
        )
    preview = preview_import(stored, files)
    problems = [p for f in preview.files for p in f.problems]
    if problems:
        raise CsvErrors(problems)
    if preview.book is None:
        raise BookError(preview.book_problems[0] if preview.book_problems else "nothing to import")
    detail = {
        "files": {f.kind: {"name": f.name, "rows": f.rows} for f in preview.files},
        "mappings": {kind: dict(m) for kind, m in files.mappings.items() if m},
        "segments_added": sorted(files.segments),
    }
    result = write_book(session, preview.book, actor, action="book_imported", detail=detail)
    session.commit()
    return result
