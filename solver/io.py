"""Reading a Book from JSON with errors that name the field and the value."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from solver.errors import BookError, describe_validation_error, parse_json
from solver.schema import Book, Policy


def _reject_non_finite(value: Any, path: str) -> None:
    # json.loads accepts NaN and Infinity; a book never should.
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise BookError(f"{path}: must be a finite number (got {value})", field=path, value=str(value))
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _reject_non_finite(item, f"{path}[{i}]")


def book_from_data(data: Any) -> Book:
    if not isinstance(data, dict):
        raise BookError(f"book: expected a JSON object with an 'accounts' list (got {type(data).__name__})")
    if "accounts" not in data:
        raise BookError(
            "accounts: required field is missing (a book needs an 'accounts' list)", field="accounts"
        )
    _reject_non_finite(data, "")
    try:
        return Book.model_validate(data)
    except ValidationError as exc:
        raise BookError(describe_validation_error(exc)) from None


def load_book_text(text: str | bytes) -> Book:
    return book_from_data(parse_json(text))


def load_book(path: str | Path) -> Book:
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise BookError(
            f"{p}: cannot read the book file ({exc.strerror})", field="path", value=str(p)
        ) from None
    return load_book_text(text)


def load_policy(path: str | Path) -> Policy:
    """A Policy document (the `policy` of a Book) from a JSON file."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise BookError(
            f"{p}: cannot read the policy file ({exc.strerror})", field="path", value=str(p)
        ) from None
    data = parse_json(text, "policy")
    _reject_non_finite(data, "policy")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise BookError("policy." + describe_validation_error(exc)) from None
