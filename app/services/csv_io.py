"""CSV import and export of accounts and CSMs, accepting the column names of typical CRM exports.

Headers are matched case-insensitively, ignoring spaces, underscores, dashes and dots, against the aliases
below (`Account Name`, `ARR`, `Segment`, `Owner`...). Columns that match nothing are ignored and listed in
the import's answer. An import is all or nothing: any bad cell stops it with the row and column named
(row 1 is the header, as in a spreadsheet).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from app.errors import BookError
from solver.errors import describe_error
from solver.schema import CSM, LEVELS, TIERS, Account, Book

ACCOUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "account id", "accountid", "salesforce id", "record id", "company id", "crm id"),
    "name": ("name", "account name", "company name", "company", "account"),
    "arr": ("arr", "annual recurring revenue", "acv", "annual contract value", "amount", "arr usd"),
    "tier": ("tier", "segment", "customer tier", "account tier", "customer segment", "service tier"),
    "hours_per_year": ("hours per year", "hours", "annual hours"),
    "region": ("region", "territory", "geo", "billing region", "sales region"),
    "language": ("language", "preferred language", "locale"),
    "current_csm": ("current csm", "owner", "account owner", "csm", "customer success manager", "csm owner"),
    "pinned": ("pinned", "locked", "pin"),
    "renewal_date": ("renewal date", "next renewal", "contract end date", "renewal"),
    "start_date": ("start date", "contract start date", "customer since", "onboarding date"),
    "parent_id": ("parent id", "parent account id", "parent account", "ultimate parent", "parent"),
}

CSM_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "csm id", "user id", "employee id", "email", "owner id"),
    "name": ("name", "full name", "csm name", "user name", "csm"),
    "level": ("level", "title", "role", "job title"),
    "tiers": ("tiers", "segments", "segment", "tier"),
    "fte": ("fte",),
    "capacity_hours": ("capacity hours", "capacity", "hours"),
    "arr_cap": ("arr cap", "max arr", "arr limit"),
    "max_accounts": ("max accounts", "account cap", "max book size"),
    "regions": ("regions", "region", "territories", "territory", "geo"),
    "languages": ("languages", "language"),
    "accepting_new": ("accepting new", "accepting new accounts", "available"),
    "start_date": ("start date", "hire date"),
    "end_date": ("end date", "termination date", "leaving date"),
}

TIER_ALIASES = {
    **{t.replace("_", ""): t for t in TIERS},
    "mm": "mid_market",
    "midmarket": "mid_market",
    "commercial": "mid_market",
    "ent": "enterprise",
    "largeenterprise": "strategic",
    "key": "strategic",
    "smallbusiness": "smb",
    "small": "smb",
    "lowtouch": "tech_touch",
    "digital": "tech_touch",
    "scaled": "tech_touch",
}
LEVEL_ALIASES = {
    **{lv.replace("_", ""): lv for lv in LEVELS},
    "associate": "associate_csm",
    "associatecustomersuccessmanager": "associate_csm",
    "customersuccessmanager": "csm",
    "seniorcsm": "senior_csm",
    "srcsm": "senior_csm",
    "seniorcustomersuccessmanager": "senior_csm",
    "csmanager": "cs_manager",
    "customersuccessmanagermanager": "cs_manager",
    "director": "director_cs",
    "directorcustomersuccess": "director_cs",
    "vp": "vp_cs",
    "vpcustomersuccess": "vp_cs",
}
TRUE = {"true", "yes", "y", "1", "x", "t"}
FALSE = {"false", "no", "n", "0", "", "f"}
LIST_SEPARATORS = re.compile(r"[;,|/]")
_MONEY_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9}
MAX_CSV_ROWS = 500_000


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-.()]+", "", text.strip().lower())


class CsvError(BookError):
    pass


def _error(row: int, column: str, message: str, value: Any = None) -> CsvError:
    return CsvError(f"row {row}, column {column!r}: {message}", field=column, value=value)


def _number(text: str) -> float:
    cleaned = text.strip().replace(",", "").replace("_", "").replace(" ", "")
    cleaned = re.sub(r"^[$€£¥]|(usd|eur|gbp)$", "", cleaned, flags=re.IGNORECASE)
    multiplier = 1.0
    if cleaned and cleaned[-1].lower() in _MONEY_SUFFIX:
        multiplier = _MONEY_SUFFIX[cleaned[-1].lower()]
        cleaned = cleaned[:-1]
    value = float(cleaned) * multiplier
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value


def _date(text: str) -> dt.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("expected a date as YYYY-MM-DD or MM/DD/YYYY")


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError("expected yes/no, true/false or 1/0")


def _choice(aliases: Mapping[str, str], what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = aliases.get(_norm(text))
        if value is None:
            raise ValueError(f"unknown {what}; expected one of {', '.join(sorted(set(aliases.values())))}")
        return value

    return parse


def _list(item: Callable[[str], str] = str.strip) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        return [item(part) for part in LIST_SEPARATORS.split(text) if part.strip()]

    return parse


ACCOUNT_PARSERS: dict[str, Callable[[str], Any]] = {
    "arr": _number,
    "hours_per_year": _number,
    "tier": _choice(TIER_ALIASES, "tier"),
    "pinned": _bool,
    "renewal_date": _date,
    "start_date": _date,
}
CSM_PARSERS: dict[str, Callable[[str], Any]] = {
    "level": _choice(LEVEL_ALIASES, "level"),
    "tiers": _list(_choice(TIER_ALIASES, "tier")),
    "fte": _number,
    "capacity_hours": _number,
    "arr_cap": _number,
    "max_accounts": lambda t: int(_number(t)),
    "regions": _list(),
    "languages": _list(),
    "accepting_new": _bool,
    "start_date": _date,
    "end_date": _date,
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")


def _read(
    text: str, columns: dict[str, tuple[str, ...]], what: str
) -> tuple[list[tuple[int, dict[str, str]]], dict[str, str], list[str]]:
    if text.startswith("\ufeff"):  # Excel writes a BOM
        text = text[1:]
    try:
        sample = text[:4096]
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvError(f"{what} CSV: the file is empty (expected a header row)", field="header") from None
    except csv.Error as exc:
        raise CsvError(f"row 1: not valid CSV ({exc})", field="header") from None
    lookup = {_norm(alias): field for field, aliases in columns.items() for alias in (field, *aliases)}
    mapping: dict[str, str] = {}  # column header -> field
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, name in enumerate(header):
        field = lookup.get(_norm(name))
        if field is None or field in index:
            ignored.append(name)
            continue
        mapping[name] = field
        index[field] = i
    rows: list[tuple[int, dict[str, str]]] = []
    line = 1
    try:
        for cells in reader:
            line += 1
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_CSV_ROWS:
                raise CsvError(f"row {line}: more than {MAX_CSV_ROWS:,} rows", field="rows")
            if len(cells) > len(header):
                raise CsvError(
                    f"row {line}: {len(cells)} cells but the header has {len(header)} columns", field="rows"
                )
            rows.append((line, {f: cells[i] if i < len(cells) else "" for f, i in index.items()}))
    except csv.Error as exc:
        raise CsvError(f"row {line}: not valid CSV ({exc})", field="rows") from None
    return rows, mapping, ignored


def _column_name(mapping: dict[str, str], field: str) -> str:
    for name, f in mapping.items():
        if f == field:
            return name
    return field


def _parse_rows(
    rows: list[tuple[int, dict[str, str]]],
    mapping: dict[str, str],
    parsers: dict[str, Callable[[str], Any]],
    model: type[Account] | type[CSM],
) -> list[tuple[int, dict[str, Any]]]:
    out: list[tuple[int, dict[str, Any]]] = []
    for line, cells in rows:
        data: dict[str, Any] = {}
        for field, raw in cells.items():
            if raw.strip() == "" and field not in ("pinned",):
                continue
            parser = parsers.get(field)
            try:
                data[field] = parser(raw) if parser else raw.strip()
            except ValueError as exc:
                raise _error(
                    line, _column_name(mapping, field), f"{raw!r} is not valid ({exc})", raw
                ) from None
        out.append((line, data))
    return out


def _validate(line: int, mapping: dict[str, str], model: type[Any], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err: dict[str, Any] = dict(exc.errors(include_url=False)[0])
        loc = tuple(err.get("loc") or ())
        field = str(loc[0]) if loc else "row"
        column = _column_name(mapping, field)
        message = describe_error(err)
        message = message.split(": ", 1)[1] if ": " in message else message
        raise _error(line, column, message, err.get("input")) from None


def parse_accounts_csv(text: str, csms: list[CSM]) -> tuple[list[Account], dict[str, str], list[str]]:
    """Accounts from CSV; `Owner` may name a CSM by id or by name (case-insensitive)."""
    rows, mapping, ignored = _read(text, ACCOUNT_COLUMNS, "accounts")
    fields = set(mapping.values())
    for needed in ("arr", "tier"):
        if needed not in fields:
            raise CsvError(
                f"accounts CSV: no column for {needed!r} (accepted headers: "
                f"{', '.join(ACCOUNT_COLUMNS[needed])})",
                field=needed,
            )
    if "id" not in fields and "name" not in fields:
        raise CsvError(
            "accounts CSV: needs an id column (e.g. 'Account ID') or a name column ('Account Name')",
            field="id",
        )
    by_id = {c.id: c.id for c in csms}
    by_name: dict[str, str] = {}
    for c in csms:
        if c.name:
            by_name.setdefault(c.name.strip().lower(), c.id)
    accounts: list[Account] = []
    seen: dict[str, int] = {}
    for line, data in _parse_rows(rows, mapping, ACCOUNT_PARSERS, Account):
        if "id" not in data:
            if not data.get("name"):
                raise _error(line, _column_name(mapping, "name"), "no id and no name to derive one from")
            data["id"] = slug(str(data["name"])) or str(data["name"]).strip()
        owner = data.get("current_csm")
        if owner is not None:
            resolved = by_id.get(owner) or by_name.get(owner.lower())
            if resolved is None:
                raise _error(
                    line,
                    _column_name(mapping, "current_csm"),
                    f"{owner!r} is not a CSM of the book (by id or name)",
                    owner,
                )
            data["current_csm"] = resolved
        if data.get("pinned") and data.get("current_csm") is None:
            raise _error(
                line, _column_name(mapping, "pinned"), "the account is pinned but has no owner", True
            )
        account = _validate(line, mapping, Account, data)
        if account.id in seen:
            raise _error(
                line,
                _column_name(mapping, "id" if "id" in fields else "name"),
                f"duplicate account id {account.id!r} (also on row {seen[account.id]})",
                account.id,
            )
        seen[account.id] = line
        accounts.append(account)
    return accounts, mapping, ignored


def parse_csms_csv(text: str) -> tuple[list[CSM], dict[str, str], list[str]]:
    rows, mapping, ignored = _read(text, CSM_COLUMNS, "CSMs")
    fields = set(mapping.values())
    if "tiers" not in fields:
        raise CsvError(
            f"CSMs CSV: no column for 'tiers' (accepted headers: {', '.join(CSM_COLUMNS['tiers'])})",
            field="tiers",
        )
    if "id" not in fields and "name" not in fields:
        raise CsvError(
            "CSMs CSV: needs an id column (e.g. 'Email') or a name column ('Full Name')", field="id"
        )
    csms: list[CSM] = []
    seen: dict[str, int] = {}
    for line, data in _parse_rows(rows, mapping, CSM_PARSERS, CSM):
        if "id" not in data:
            if not data.get("name"):
                raise _error(line, _column_name(mapping, "name"), "no id and no name to derive one from")
            data["id"] = slug(str(data["name"])) or str(data["name"]).strip()
        csm = _validate(line, mapping, CSM, data)
        if csm.start_date and csm.end_date and csm.end_date < csm.start_date:
            raise _error(
                line, _column_name(mapping, "end_date"), "is before the start date", csm.end_date.isoformat()
            )
        if csm.id in seen:
            raise _error(
                line,
                _column_name(mapping, "id" if "id" in fields else "name"),
                f"duplicate CSM id {csm.id!r} (also on row {seen[csm.id]})",
                csm.id,
            )
        seen[csm.id] = line
        csms.append(csm)
    return csms, mapping, ignored


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def accounts_csv(book: Book) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = list(Account.model_fields)
    writer.writerow(fields)
    for account in book.accounts:
        writer.writerow([_cell(getattr(account, f)) for f in fields])
    return out.getvalue()


def csms_csv(book: Book) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = list(CSM.model_fields)
    writer.writerow(fields)
    for csm in book.csms:
        writer.writerow([_cell(getattr(csm, f)) for f in fields])
    return out.getvalue()
