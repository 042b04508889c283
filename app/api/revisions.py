"""The stored book's revision as an HTTP entity tag (`ETag` out, `If-Match` in): optimistic concurrency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from app.errors import BookError


def etag(revision: int) -> str:
    """The book revision as a strong entity tag, e.g. `"12"`."""
    return f'"{revision}"'


def set_etag(response: Response, revision: int) -> None:
    response.headers["ETag"] = etag(revision)


def parse_if_match(value: str | None) -> frozenset[int] | None:
    """The revisions an `If-Match` header accepts; None when any will do (absent, or `*`).

    Accepts the forms clients send back: `"12"`, `W/"12"`, a bare `12`, and lists `"11", "12"`."""
    if value is None or value.strip() == "*":
        return None
    revisions: set[int] = set()
    for part in value.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if not tag.isdigit() or len(tag) > 18:
            raise BookError(
                f"If-Match: expected the book revision from an ETag such as '\"12\"' (got {value!r})",
                field="If-Match",
                value=value,
            )
        revisions.add(int(tag))
    return frozenset(revisions)


def expected_revisions(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=200,
            description="The book's `ETag` as last read; a write on a book changed since answers 412.",
        ),
    ] = None,
) -> frozenset[int] | None:
    return parse_if_match(if_match)
