"""Bad input, said in one line that names the field and the value (never a traceback)."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError


class BookError(ValueError):
    """A book (or request) that cannot be planned as given; the message names the field and the value."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value


# "policy.balance_metrics.red_accounts: ...", "accounts[3].arr: ...": a message that starts with a field.
_NAMES_A_FIELD = re.compile(r"^[A-Za-z_][\w]*(?:\[\d+\]|\.[A-Za-z_][\w]*)*: ")


def field_path(loc: tuple[Any, ...]) -> str:
    """('accounts', 3, 'arr') -> 'accounts[3].arr'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe_error(error: dict[str, Any]) -> str:
    """One pydantic error as 'field: problem (got value)'."""
    loc = tuple(p for p in error.get("loc", ()) if p not in ("body",))
    msg = str(error.get("msg", "invalid"))
    if error.get("type") == "value_error" and msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if error.get("type") == "extra_forbidden":
        return f"{field_path(loc)}: unknown field (typo?)"
    if error.get("type") == "missing":
        return f"{field_path(loc)}: required field is missing"
    if error.get("type") == "string_pattern_mismatch" and "(?:.*\\S)" in str(
        error.get("ctx", {}).get("pattern", "")
    ):
        msg = "an id must not be blank, start or end with a space, or hold a line break"
    path = field_path(loc)
    if not path:  # a model-level check already names its field
        return msg
    if error.get("type") == "value_error" and _NAMES_A_FIELD.match(msg):
        # A nested model's own check (a book inside a request) names its field: the path leads to it, and
        # the whole model is not echoed back.
        return f"{path}.{msg}"
    if "input" in error and error.get("type") not in ("model_type",):
        return f"{path}: {msg} (got {_short(error['input'])})"
    return f"{path}: {msg}"


def describe_validation_error(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = describe_error(dict(errors[0]))
    return first if len(errors) == 1 else f"{first} (and {len(errors) - 1} more problems)"


def parse_json(text: str | bytes, what: str = "book") -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise BookError(f"{what}: not valid JSON (nested too deeply)", field=what) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = (
            f"line {exc.lineno} column {exc.colno}: {exc.msg}"
            if isinstance(exc, json.JSONDecodeError)
            else str(exc)
        )
        raise BookError(f"{what}: not valid JSON ({detail})", field=what) from None
