"""The pages with a book of the customer's own segments and health: labels, order, health and its hours."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from pages_support import sign_in

SEGMENTS = {
    "corporate": {"hours_per_year": 40, "label": "Corporate Accounts"},
    "majors": {"hours_per_year": 300, "label": "Major Accounts", "level": "senior_csm"},
}


def own_book() -> dict[str, Any]:
    return {
        "accounts": [
            {
                "id": "m1",
                "name": "Big One",
                "arr": 800_000,
                "tier": "majors",
                "current_csm": "c-maj",
                "health": "red",
            },
            {"id": "c1", "name": "Corp One", "arr": 60_000, "tier": "corporate", "current_csm": "c-cor"},
            {"id": "e1", "name": "Ent One", "arr": 90_000, "tier": "enterprise", "current_csm": "c-cor"},
        ],
        "csms": [
            {"id": "c-maj", "name": "Mo Majors", "tiers": ["majors"]},
            {"id": "c-cor", "name": "Cora Corp", "tiers": ["corporate", "enterprise"]},
        ],
        "policy": {"as_of": "2026-11-22", "tiers": SEGMENTS, "health_hours": {"red": 1.5}},
    }


def load(client: TestClient, book: dict[str, Any]) -> None:
    key = client.keys["ops"]  # type: ignore[attr-defined]
    answer = client.put("/v1/book", json=book, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text


def test_the_book_summary_lists_built_in_segments_first_then_the_books_own_with_their_labels(
    client: TestClient,
) -> None:
    load(client, own_book())
    key = client.keys["hr"]  # type: ignore[attr-defined]
    tiers = client.get("/v1/book/summary", headers={"Authorization": f"Bearer {key}"}).json()["tiers"]
    assert [(t["tier"], t["label"]) for t in tiers] == [
        ("enterprise", "Enterprise"),
        ("corporate", "Corporate Accounts"),
        ("majors", "Major Accounts"),
    ]


def test_the_book_and_csm_pages_show_segment_labels_and_the_health_of_the_hours(client: TestClient) -> None:
    load(client, own_book())
    sign_in(client, "ops")
    book = client.get("/").text
    assert re.search(r'data-csm="c-maj">.*?<span class="tag health-red">1 red</span>', book, re.S)
    assert book.count('class="tag health-red"') == 1  # c-cor has no red account
    assert book.index("Enterprise") < book.index("Corporate Accounts") < book.index("Major Accounts")
    csm = client.get("/csms/c-maj").text
    assert "Major Accounts" in csm and 'class="tag health-red"' in csm
    assert "red account: 450 h, 1.5 × 300 h" in csm
    cora = client.get("/csms/c-cor").text
    assert "Corporate Accounts" in cora and "account:" not in cora


def test_the_hiring_gap_page_names_a_custom_segment_by_its_label(client: TestClient) -> None:
    book = own_book()
    book["accounts"] += [
        {"id": f"m{i}", "arr": 500_000, "tier": "majors", "current_csm": "c-maj"} for i in range(2, 9)
    ]
    load(client, book)
    sign_in(client, "hr")
    page = client.get("/gaps")
    assert page.status_code == 200, page.text
    assert '<th scope="row">Major Accounts · ' in page.text
    assert '<th scope="row">majors' not in page.text
