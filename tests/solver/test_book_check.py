"""The hard rules a book as it stands breaks, stated on their own (what partial approval checks)."""

from __future__ import annotations

from conftest import build_book

from solver.book_check import book_breaks, new_breaks
from solver.schema import Book


def _move(book: Book, account: str, csm: str) -> Book:
    return book.model_copy(
        update={
            "accounts": [
                a.model_copy(update={"current_csm": csm}) if a.id == account else a for a in book.accounts
            ]
        }
    )


def test_each_per_csm_cap_and_a_split_parent_is_named_with_its_figures() -> None:
    book = build_book(
        [
            {"id": "a1", "hours_per_year": 300, "arr": 400_000, "current_csm": "c-lee", "parent_id": "p"},
            {"id": "a2", "hours_per_year": 300, "arr": 400_000, "current_csm": "c-lee", "parent_id": "p"},
            {"id": "a3", "hours_per_year": 100, "arr": 100_000, "current_csm": "c-dana"},
        ],
        [
            {"id": "c-lee", "capacity_hours": 1000, "arr_cap": 850_000, "max_accounts": 2},
            {"id": "c-dana", "capacity_hours": 350},
        ],
    )
    assert book_breaks(book) == {}
    crowded = _move(book, "a3", "c-lee")
    found = book_breaks(crowded)
    assert set(found) == {("arr_cap", "c-lee"), ("max_accounts", "c-lee")}
    arr = found[("arr_cap", "c-lee")]
    assert (arr.figure, arr.limit) == (900_000, 850_000)
    assert "900,000" in arr.message and "850,000" in arr.message
    split = _move(book, "a1", "c-dana")
    assert set(book_breaks(split)) == {("capacity_hours", "c-dana"), ("parent", "p")}
    over = book_breaks(split)[("capacity_hours", "c-dana")]
    assert (over.figure, over.limit) == (400, 350)


def test_a_rule_the_current_book_already_breaks_is_not_new_unless_it_gets_worse() -> None:
    book = build_book(
        [{"id": f"a{i}", "hours_per_year": 300, "current_csm": "c-lee"} for i in range(4)]
        + [{"id": "b0", "hours_per_year": 300, "current_csm": "c-dana"}],
        [{"id": "c-lee", "capacity_hours": 1000}, {"id": "c-dana", "capacity_hours": 1000}],
    )
    assert set(book_breaks(book)) == {("capacity_hours", "c-lee")}
    relieved = _move(book, "a0", "c-dana")
    assert new_breaks(book, relieved) == []
    worse = _move(book, "b0", "c-lee")
    assert [(b.rule, b.who, b.figure) for b in new_breaks(book, worse)] == [("capacity_hours", "c-lee", 1500)]
