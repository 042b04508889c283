"""CSV import and export of accounts and CSMs, accepting the columns and cells of real CRM exports.

Headers are matched case-insensitively, ignoring spaces, underscores, dashes and dots, against the aliases
below (`Account Name`, `ARR`, `Segment`, `Owner`...); a caller may map a column by hand. Columns that match
nothing are ignored and listed. Every bad cell of a file is reported (row 1 is the header, as in a
spreadsheet: row, column, value and what was expected); nothing is imported unless every row is good.
Cells are read by `app.services.csv_cells` (separators, encodings, decimal commas, currencies...).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from app.errors import BookError
from app.services.csv_cells import (
    DecimalMark,
    decide_decimal_mark,
    decode,
    detect_delimiter,
    join_list,
    neutralise,
    number_style,
    number_text,
    parse_bool,
    parse_date,
    parse_number,
    split_list,
    unneutralise,
)
from app.services.csv_columns import (
    COLUMNS,
    FREE_TEXT,
    HEALTH_ALIASES,
    LEVEL_ALIASES,
    NUMBER_FIELDS,
    PERCENT_SCALE,
    TIER_SYNONYMS,
    Kind,
)
from solver.errors import describe_error
from solver.policy import BUILTIN_LABELS, segment_label
from solver.schema import CSM, LEVELS, Account, Book, Policy, known_segments

MAX_CSV_ROWS = 500_000
MAX_REPORTED = 100


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-.()/]+", "", text.strip().casefold())


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")


# ---------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One bad cell (or a missing column, on row 1): where, what it held, and what was expected."""

    row: int
    column: str
    value: str
    expected: str
    segment: str | None = None  # an unknown segment value: the import page offers to define it

    @property
    def message(self) -> str:
        if self.value == "":  # a missing column, a blank cell or a whole row: `expected` says it in full
            return f"row {self.row}, column {self.column!r}: {self.expected}"
        return (
            f"row {self.row}, column {self.column!r}: {self.value!r} is not valid (expected {self.expected})"
        )


class CsvErrors(BookError):
    """Every problem of a file (the first `MAX_REPORTED` of them); the message is the first one's."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems[:MAX_REPORTED]
        self.total = len(problems)
        more = f" (and {self.total - 1} more problems)" if self.total > 1 else ""
        first = problems[0]
        super().__init__(first.message + more, field=first.column, value=first.value)


# ---------------------------------------------------------------- reading a file


@dataclass
class Table:
    """A CSV file as read: its header, the field each column is read as, and its raw rows."""

    kind: Kind
    header: list[str]
    fields: list[str | None]
    rows: list[tuple[int, list[str]]]
    delimiter: str
    encoding: str
    decimal: DecimalMark
    guessed: list[str | None] = field(default_factory=list)  # what the headers alone said

    @property
    def mapping(self) -> dict[str, str]:
        return {name: f for name, f in zip(self.header, self.fields, strict=True) if f is not None}

    @property
    def ignored(self) -> list[str]:
        return [name for name, f in zip(self.header, self.fields, strict=True) if f is None]

    def column_of(self, field_name: str) -> str:
        for name, f in zip(self.header, self.fields, strict=True):
            if f == field_name:
                return name
        return field_name

    def cells(self, cells: list[str]) -> dict[str, str]:
        return {f: cells[i] if i < len(cells) else "" for i, f in enumerate(self.fields) if f is not None}


def _guess_fields(header: list[str], kind: Kind) -> list[str | None]:
    lookup = {_norm(alias): f for f, aliases in COLUMNS[kind].items() for alias in (f, *aliases)}
    out: list[str | None] = []
    taken: set[str] = set()
    for name in header:
        f = lookup.get(_norm(name))
        out.append(None if f is None or f in taken else f)
        if f is not None:
            taken.add(f)
    return out


def _apply_overrides(
    header: list[str], fields: list[str | None], overrides: Mapping[str, str], kind: Kind
) -> None:
    """A column mapped by hand wins; another column the headers had mapped to the same field is ignored."""
    known = set(COLUMNS[kind])
    for column, chosen in overrides.items():
        if column not in header:
            continue
        target = chosen or None
        if target is not None and target not in known:
            raise BookError(f"mapping: {target!r} is not a field of {kind}", field="mapping", value=target)
        if target is not None:
            fields[:] = [None if f == target else f for f in fields]
        fields[header.index(column)] = target


def read_table(data: bytes | str, kind: Kind, overrides: Mapping[str, str] | None = None) -> Table:
    """The file's header, column mapping and raw rows; bad bytes or bad CSV quoting name the row."""
    label = "accounts" if kind == "accounts" else "CSMs"
    if isinstance(data, bytes):
        try:
            text, encoding = decode(data)
        except ValueError as exc:
            raise CsvErrors([Problem(1, "file", "", f"{label} CSV: {exc}")]) from None
    else:
        text, encoding = data.removeprefix("\ufeff"), "UTF-8"
    delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    line = 1
    try:
        header = next(reader)
        rows: list[tuple[int, list[str]]] = []
        for cells in reader:
            line += 1
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_CSV_ROWS:
                raise CsvErrors([Problem(line, "rows", "", f"{label} CSV: more than {MAX_CSV_ROWS:,} rows")])
            rows.append((line, cells))
    except StopIteration:
        raise CsvErrors(
            [Problem(1, "header", "", f"{label} CSV: the file is empty (expected a header row)")]
        ) from None
    except csv.Error as exc:
        raise CsvErrors([Problem(line, "rows", "", f"{label} CSV: not valid CSV ({exc})")]) from None
    header = [h.strip() for h in header]
    guessed = _guess_fields(header, kind)
    fields = list(guessed)
    _apply_overrides(header, fields, overrides or {}, kind)
    number_cols = [i for i, f in enumerate(fields) if f in NUMBER_FIELDS]
    numbers = (unneutralise(cells[i]) for _line, cells in rows for i in number_cols if i < len(cells))
    decimal = decide_decimal_mark(numbers, delimiter)
    return Table(kind, header, fields, rows, delimiter, encoding, decimal, guessed)


# ---------------------------------------------------------------- reading cells


def segment_lookup(policy: Policy) -> dict[str, str]:
    """Segment words → segment: names, then the policy's labels and aliases, then built-in labels and CRM
    synonyms (case, spaces and dashes ignored)."""
    lookup: dict[str, str] = {}
    for name in known_segments(policy):
        lookup.setdefault(_norm(name), name)
    for name, definition in policy.tiers.items():
        for word in (definition.label, *definition.aliases):
            if word:
                lookup.setdefault(_norm(word), name)
    for name, label in BUILTIN_LABELS.items():
        lookup.setdefault(_norm(label), name)
    for word, name in TIER_SYNONYMS.items():
        lookup.setdefault(word, name)
    return lookup


class UnknownSegment(ValueError):
    def __init__(self, value: str, expected: str) -> None:
        super().__init__(expected)
        self.value = value


class CellReader:
    """Parses one cell of a field, with the file's decimal mark and the book's segments."""

    def __init__(self, policy: Policy, decimal: DecimalMark) -> None:
        self.policy = policy
        self.decimal = decimal
        self.segments = segment_lookup(policy)
        known = ", ".join(f"{t} ({segment_label(policy, t)})" for t in known_segments(policy))
        self.segment_expected = f"a segment: one of {known}, or a label or alias defined in policy.tiers"

    def segment(self, text: str) -> str:
        found = self.segments.get(_norm(text))
        if found is None:
            raise UnknownSegment(text.strip(), self.segment_expected)
        return found

    def read(self, field_name: str, raw: str) -> Any:
        text = raw.strip()
        if field_name in NUMBER_FIELDS:
            value = parse_number(text, self.decimal, percent_scale=PERCENT_SCALE.get(field_name))
            if field_name == "max_accounts":
                if not value.is_integer():
                    raise ValueError("a whole number of accounts")
                return int(value)
            return value
        if field_name in ("renewal_date", "start_date", "end_date", "handoff_on"):
            return parse_date(text, self.decimal)
        if field_name in ("pinned", "accepting_new"):
            return parse_bool(text)
        if field_name == "tier":
            return self.segment(text)
        if field_name == "tiers":
            return [self.segment(item) for item in split_list(text)]
        if field_name in ("regions", "languages"):
            return split_list(text)
        if field_name == "level":
            return _choice(text, LEVEL_ALIASES, "a level: " + ", ".join(LEVELS))
        if field_name == "health":
            return _choice(text, HEALTH_ALIASES, "a health: green, yellow or red")
        return raw if field_name in FREE_TEXT else text


def _choice(text: str, aliases: Mapping[str, str], expected: str) -> str:
    found = aliases.get(_norm(text))
    if found is None:
        raise ValueError(expected)
    return found


class OwnerIndex:
    """Finds the CSM an owner cell means: by id (exact), else by email, CRM user id or name (any case)."""

    def __init__(self, csms: list[CSM]) -> None:
        self.ids = {c.id for c in csms}
        self.keys: dict[str, set[str]] = {}
        for c in csms:
            for key in (c.email, c.crm_user_id, c.name):
                if key and key.strip():
                    self.keys.setdefault(key.strip().casefold(), set()).add(c.id)

    def resolve(self, owner: str) -> str:
        """The one CSM the owner cell names; ValueError when it names none or several."""
        if owner in self.ids:
            return owner
        found = self.keys.get(owner.casefold(), set())
        if len(found) == 1:
            return next(iter(found))
        if found:
            raise ValueError(f"one CSM, but it matches several: {', '.join(sorted(found))}")
        raise ValueError("the id, email, CRM user id or name of a CSM of the book; none matches")


# ---------------------------------------------------------------- rows into accounts and CSMs


@dataclass
class Parsed:
    """A file's rows as parsed: the good accounts or CSMs, every row's values, and every problem."""

    table: Table
    items: list[Any]
    rows: list[tuple[int, dict[str, Any]]]
    problems: list[Problem]

    def raise_if_bad(self) -> None:
        if self.problems:
            raise CsvErrors(self.problems)

    @property
    def unknown_segments(self) -> dict[str, int]:
        """Each segment value no segment claims, with the first row that holds it."""
        out: dict[str, int] = {}
        for p in self.problems:
            if p.segment is not None:
                out.setdefault(p.segment, p.row)
        return out


def _missing_columns(table: Table) -> list[Problem]:
    present = set(table.mapping.values())
    label = "accounts" if table.kind == "accounts" else "CSMs"
    needed = ("arr", "tier") if table.kind == "accounts" else ("tiers",)
    problems = [
        Problem(
            1,
            f,
            "",
            f"{label} CSV: no column for {f!r} (accepted headers: {', '.join(COLUMNS[table.kind][f])})",
        )
        for f in needed
        if f not in present
    ]
    keys = ("id", "name") if table.kind == "accounts" else ("id", "name", "email", "crm_user_id")
    if not present.intersection(keys):
        problems.append(Problem(1, "id", "", f"{label} CSV: needs an id column (or {', '.join(keys[1:])})"))
    return problems


def _read_row(
    table: Table, line: int, cells: list[str], reader: CellReader, problems: list[Problem]
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field_name, raw in table.cells(cells).items():
        raw = unneutralise(raw)
        if raw.strip() == "":
            continue
        try:
            data[field_name] = reader.read(field_name, raw)
        except UnknownSegment as exc:
            problems.append(Problem(line, table.column_of(field_name), raw, str(exc), segment=exc.value))
        except ValueError as exc:
            problems.append(Problem(line, table.column_of(field_name), raw, str(exc)))
    return data


def _validated(
    table: Table, line: int, cells: dict[str, str], model: type[BaseModel], data: dict[str, Any]
) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err.get("loc") or ())
            name = str(loc[0]) if loc else "row"
            message = describe_error(dict(err))
            message = message.split(": ", 1)[1] if ": " in message else message
            raw = cells.get(name, "")
            if err.get("type") == "missing":
                problems.append(Problem(line, table.column_of(name), "", "blank, but a value is required"))
                continue
            problems.append(
                Problem(line, table.column_of(name), raw if raw else str(err.get("input", "")), message)
            )
        return None, problems


def _parse(
    table: Table,
    policy: Policy,
    model: type[BaseModel],
    derive_id: Callable[[dict[str, Any]], str | None],
    fix_row: Callable[[int, dict[str, Any], list[Problem]], None],
) -> Parsed:
    problems = _missing_columns(table)
    if problems:
        return Parsed(table, [], [], problems)
    reader = CellReader(policy, table.decimal)
    items: list[Any] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for line, cells in table.rows:
        if len(cells) > len(table.header):
            problems.append(
                Problem(
                    line,
                    "(whole row)",
                    "",
                    f"{len(cells)} cells but the header has {len(table.header)} columns",
                )
            )
            continue
        row_problems: list[Problem] = []
        data = _read_row(table, line, cells, reader, row_problems)
        if "id" not in data:
            # A file with an id column must fill it: only a file without one derives ids.
            derived = None if "id" in table.mapping.values() else derive_id(data)
            if derived is None:
                row_problems.append(
                    Problem(line, table.column_of("id"), "", "blank, but every row needs an id")
                )
            else:
                data["id"] = derived
        fix_row(line, data, row_problems)
        rows.append((line, data))
        if row_problems:
            problems.extend(row_problems)
            continue
        item, invalid = _validated(table, line, table.cells(cells), model, data)
        problems.extend(invalid)
        if item is None:
            continue
        if item.id in seen:
            column = table.column_of("id" if "id" in table.mapping.values() else "name")
            problems.append(Problem(line, column, item.id, f"a unique id (also on row {seen[item.id]})"))
            continue
        seen[item.id] = line
        items.append(item)
    return Parsed(table, items, rows, problems)


def parse_csms(table: Table, policy: Policy) -> Parsed:
    """CSMs from a file; without an id column a CSM's id is their email, else CRM user id, else name."""

    def derive_id(data: dict[str, Any]) -> str | None:
        for key in ("email", "crm_user_id"):
            if data.get(key):
                return str(data[key]).strip()
        name = str(data.get("name") or "").strip()
        return (slug(name) or name) if name else None

    def fix_row(line: int, data: dict[str, Any], problems: list[Problem]) -> None:
        start, end = data.get("start_date"), data.get("end_date")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            problems.append(
                Problem(line, table.column_of("end_date"), end.isoformat(), "a date after the start date")
            )

    return _parse(table, policy, CSM, derive_id, fix_row)


def parse_accounts(table: Table, csms: list[CSM], policy: Policy) -> Parsed:
    """Accounts from a file; the owner column may name a CSM by id, email, CRM user id or unique name."""
    owners = OwnerIndex(csms)

    def derive_id(data: dict[str, Any]) -> str | None:
        name = str(data.get("name") or "").strip()
        return (slug(name) or name) if name else None

    def fix_row(line: int, data: dict[str, Any], problems: list[Problem]) -> None:
        owner = data.get("current_csm")
        if owner is not None:
            try:
                data["current_csm"] = owners.resolve(str(owner))
            except ValueError as exc:
                problems.append(Problem(line, table.column_of("current_csm"), str(owner), str(exc)))
                return
        if data.get("pinned") and data.get("current_csm") is None:
            problems.append(Problem(line, table.column_of("pinned"), "yes", "an owner for a pinned account"))

    return _parse(table, policy, Account, derive_id, fix_row)


def parse_accounts_csv(data: bytes | str, csms: list[CSM], policy: Policy) -> Parsed:
    """`read_table` + `parse_accounts`, raising `CsvErrors` with every problem of the file."""
    parsed = parse_accounts(read_table(data, "accounts"), csms, policy)
    parsed.raise_if_bad()
    return parsed


def parse_csms_csv(data: bytes | str, policy: Policy) -> Parsed:
    parsed = parse_csms(read_table(data, "csms"), policy)
    parsed.raise_if_bad()
    return parsed


def describe_table(table: Table) -> str:
    """How the file was read, in words: separator, encoding and numbers."""
    separator = {",": "comma", ";": "semicolon", "\t": "tab"}[table.delimiter]
    return f"{separator}-separated, {table.encoding}, numbers with a {number_style(table.decimal)}"


# ---------------------------------------------------------------- export


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return neutralise(join_list([str(v) for v in value]))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return number_text(value)
    return neutralise(str(value))


def _export(items: list[Any], fields: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for item in items:
        writer.writerow([_cell(getattr(item, f)) for f in fields])
    return out.getvalue()


def accounts_csv(book: Book) -> str:
    """Every account, one column per field; cells a spreadsheet would run as a formula are neutralised."""
    return _export(book.accounts, list(Account.model_fields))


def csms_csv(book: Book) -> str:
    return _export(book.csms, list(CSM.model_fields))
