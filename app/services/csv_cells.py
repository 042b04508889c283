"""Cells of real CRM exports: text encodings, separators, numbers written the European or the US way,
currencies, percentages, dates, yes/no, lists, and spreadsheet formulas neutralised on the way out.

A number's decimal mark is decided once per file, from the cells that show it (`1.500,00`, `0,8`,
`1,500.00`, `12.5`); a cell that could be read two ways under that decision (`1,500` in a file whose
numbers use a decimal comma) is an error, never a guess. With no evidence at all, a `;`-separated file
uses the decimal comma (that is why spreadsheets in those locales write `;`), any other the point.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

DecimalMark = Literal[".", ","]
DELIMITERS = (",", ";", "\t")
SNIFF_LINES = 50
_CURRENCY = r"(?:[$€£¥]|usd|eur|gbp|chf|cad|aud|jpy|sek|nok|dkk)"
_CURRENCY_PREFIX = re.compile(rf"^{_CURRENCY}\s*", re.IGNORECASE)
_CURRENCY_SUFFIX = re.compile(rf"\s*{_CURRENCY}$", re.IGNORECASE)
_GROUP_SPACES = re.compile(r"[\s\u00a0\u202f'’]")
_MONEY_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9}
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")
_NEEDS_NEUTRALISING = re.compile(r"^'*[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
EMPTY_LIST = "(none)"
LIST_SEPARATORS = re.compile(r"[;,|]")

TRUE = {"true", "yes", "y", "1", "x", "t", "ja", "oui", "si", "sí", "wahr", "vrai"}
FALSE = {"false", "no", "n", "0", "f", "nein", "non", "falsch", "faux"}


# ---------------------------------------------------------------- the file


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and its encoding: UTF-8 (with or without BOM), else Windows-1252 (Excel on Windows)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 (BOM)"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"byte {exc.start} ({data[exc.start]:#04x}) is neither UTF-8 nor Windows-1252 text"
        ) from None


def detect_delimiter(text: str) -> str:
    """The separator (`,` `;` or tab) that splits the header into the most columns and every early row into
    the same number; ties go to the comma."""
    lines = text.splitlines()[:SNIFF_LINES]
    sample = "\n".join(lines)
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            rows = [
                r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(c.strip() for c in r)
            ]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows[1:] if len(r) == width)
        score = (width if width > 1 else 0, consistent)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# ---------------------------------------------------------------- numbers


def _strip_number(text: str) -> tuple[str, bool, float]:
    """The digits and marks of a number cell, whether it ended in `%`, and its k/M/B multiplier."""
    cleaned = text.strip()
    percent = cleaned.endswith("%")
    if percent:
        cleaned = cleaned[:-1].strip()
    cleaned = _CURRENCY_SUFFIX.sub("", _CURRENCY_PREFIX.sub("", cleaned))
    multiplier = 1.0
    if len(cleaned) > 1 and cleaned[-1].lower() in _MONEY_SUFFIX and cleaned[-2].isdigit():
        multiplier = _MONEY_SUFFIX[cleaned[-1].lower()]
        cleaned = cleaned[:-1]
    return _GROUP_SPACES.sub("", cleaned), percent, multiplier


def mark_evidence(text: str) -> DecimalMark | None:
    """The decimal mark a number cell shows, if it shows one (`1.500,00` → `,`; `1,500` → None)."""
    digits, _percent, _mult = _strip_number(text)
    digits = digits.lstrip("+-(").rstrip(")")
    if not re.fullmatch(r"[\d.,]+", digits):
        return None
    points, commas = digits.count("."), digits.count(",")
    if points and commas:
        return "." if digits.rfind(".") > digits.rfind(",") else ","
    for mark, count in ((",", commas), (".", points)):
        if count > 1:
            return "." if mark == "," else ","  # a mark used twice groups thousands
        if count == 1:
            whole, fraction = digits.split(mark)
            if len(fraction) != 3 or whole in ("", "0") or len(whole) > 3:
                return "," if mark == "," else "."  # not a thousands group: the decimal mark
    return None


def decide_decimal_mark(cells: Iterable[str], delimiter: str) -> DecimalMark:
    """The file's decimal mark: what most number cells that show one use, else by the separator."""
    votes = {".": 0, ",": 0}
    for cell in cells:
        mark = mark_evidence(cell)
        if mark is not None:
            votes[mark] += 1
    if votes[","] > votes["."]:
        return ","
    if votes["."] > votes[","]:
        return "."
    return "," if delimiter == ";" else "."


def _grouped(whole: str, group: str) -> str:
    """The integer part without its thousands groups; ValueError when the groups are not of three digits."""
    if group not in whole:
        return whole
    if not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(group)}\d{{3}})+", whole):
        raise ValueError("thousands groups of three digits")
    return whole.replace(group, "")


def number_style(mark: DecimalMark) -> str:
    return "decimal comma, e.g. 1.500,00 or 1 500,00" if mark == "," else "decimal point, e.g. 1,500.00"


def parse_number(text: str, mark: DecimalMark, *, percent_scale: float | None = None) -> float:
    """A number written with the file's decimal mark, thousands groups, a currency and k/M/B; a
    percentage is allowed only where `percent_scale` says what 100 % is (FTE: 1, a score: 100)."""
    digits, percent, multiplier = _strip_number(text)
    if percent and percent_scale is None:
        raise ValueError("a number, not a percentage")
    negative = digits.startswith("-") or (digits.startswith("(") and digits.endswith(")"))
    if digits[:1] in ("+", "-"):
        digits = digits[1:]
    elif negative:
        digits = digits[1:-1]  # (1.500,00): accounting's negative
    if not re.fullmatch(r"\d[\d.,]*", digits) or digits[-1] in ".,":
        raise ValueError(f"a number ({number_style(mark)})")
    group = "." if mark == "," else ","
    if mark == "," and re.fullmatch(r"[1-9]\d{0,2},\d{3}", digits):
        whole, fraction = digits.split(",")
        decimal = number_text(float(f"{whole}.{fraction}"))
        raise ValueError(
            f"one reading only: this file's numbers use a decimal comma, so this could be {whole}{fraction} "
            f"or {decimal}; write {whole}.{fraction} for {whole}{fraction}, or {decimal.replace('.', ',')} "
            f"for {decimal}"
        )
    parts = digits.split(mark)
    if len(parts) > 2:
        raise ValueError(f"a number with one decimal mark ({number_style(mark)})")
    try:
        whole = _grouped(parts[0], group)
    except ValueError:
        raise ValueError(f"a number ({number_style(mark)})") from None
    fraction = parts[1] if len(parts) == 2 else ""
    if group in fraction:
        raise ValueError(f"a number ({number_style(mark)})")
    exact = Decimal(f"{whole}.{fraction}" if fraction else whole) * Decimal(repr(multiplier))
    if percent and percent_scale is not None:
        exact = exact * Decimal(repr(percent_scale)) / 100  # in decimal: 55 % of 100 is 55, not 55.000…01
    value = float(exact)
    return -value if negative else value


def number_text(value: float | int) -> str:
    """A number as the export writes it: a decimal point, no thousands groups, no exponent, exact."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


# ---------------------------------------------------------------- dates, yes/no


def parse_date(text: str, mark: DecimalMark) -> dt.date:
    """ISO dates (CRM timestamps too), 31.12.2027, and slash dates: day first where the first number is
    over 12 or the file uses a decimal comma, else month first (US)."""
    text = text.strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}([T ].*)?$", text):
        return dt.date.fromisoformat(text[:10])
    match = re.fullmatch(r"(\d{1,2})([./])(\d{1,2})\2(\d{4})", text)
    if match:
        first, sep, second, year = int(match[1]), match[2], int(match[3]), int(match[4])
        day_first = sep == "." or first > 12 or (mark == "," and second <= 12)
        day, month = (first, second) if day_first else (second, first)
        try:
            return dt.date(year, month, day)
        except ValueError:
            pass
    match = re.fullmatch(r"(\d{4})/(\d{1,2})/(\d{1,2})", text)
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise ValueError("a date: YYYY-MM-DD, DD.MM.YYYY or MM/DD/YYYY")


def parse_bool(text: str) -> bool:
    lowered = text.strip().casefold()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError("yes or no (true/false, 1/0)")


# ---------------------------------------------------------------- lists


def split_list(text: str) -> list[str]:
    """Items of a list cell: separated by `;` `,` or `|`; quoted items (as the export writes them) keep
    their separators; `(none)` is the empty list."""
    if text.strip() == EMPTY_LIST:
        return []
    if '"' in text:
        rows = list(csv.reader(io.StringIO(text.strip()), delimiter=";", skipinitialspace=True))
        return [item for item in (rows[0] if rows else []) if item.strip()]
    return [part.strip() for part in LIST_SEPARATORS.split(text) if part.strip()]


def join_list(items: list[str]) -> str:
    """A list as one cell that `split_list` reads back: items joined by `;`, quoted when they hold a
    separator, a quote or edge spaces."""
    if not items:
        return EMPTY_LIST
    out = []
    for item in items:
        if re.search(r'[;,|"]', item) or item != item.strip() or item == EMPTY_LIST:
            item = '"' + item.replace('"', '""') + '"'
        out.append(item)
    return ";".join(out)


# ---------------------------------------------------------------- formulas


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will not run: one starting with = + - @ tab or CR (after any quotes) gets a
    leading `'`, as OWASP recommends; a plain number such as -5 cannot run and is left as it is."""
    if _PLAIN_NUMBER.match(cell):
        return cell
    return "'" + cell if _NEEDS_NEUTRALISING.match(cell) else cell


def unneutralise(cell: str) -> str:
    """The cell as it was before `neutralise`: the one `'` added in front of a formula start goes."""
    return cell[1:] if _NEUTRALISED.match(cell) else cell
