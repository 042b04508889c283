"""What the pages compute before rendering: loads per CSM, chart scales, move filters, formatting."""

from __future__ import annotations

from app.pages import views
from solver.engine import solve
from solver.schema import Book


def small_book() -> Book:
    return Book.model_validate(
        {
            "accounts": [
                {"id": f"a{i}", "arr": 100_000, "tier": "enterprise", "region": "NA", "current_csm": "c-lee"}
                for i in range(16)
            ]
            + [
                {"id": "new", "arr": 50_000, "tier": "enterprise", "region": "NA"},
                {
                    "id": "orphan",
                    "arr": 50_000,
                    "tier": "enterprise",
                    "region": "NA",
                    "current_csm": "c-gone",
                },
            ],
            "csms": [
                {"id": "c-dana", "name": "Dana", "tiers": ["enterprise"], "regions": ["NA"]},
                {"id": "c-lee", "name": "Lee", "tiers": ["enterprise"], "regions": ["NA"]},
                {"id": "c-gone", "tiers": ["enterprise"], "regions": ["NA"], "end_date": "2026-01-01"},
            ],
            "policy": {"as_of": "2026-11-22"},
        }
    )


def test_loads_count_the_hours_arr_and_accounts_each_csm_holds_today() -> None:
    loads = {c.id: c for c in views.csm_views(small_book())}
    assert loads["c-lee"].hours == 16 * 110  # enterprise service model: 110 h a year
    assert loads["c-lee"].arr == 1_600_000
    assert loads["c-lee"].accounts == 16
    assert loads["c-lee"].over  # 1,760 h against 1,560 h
    assert loads["c-dana"].hours == 0 and not loads["c-dana"].over
    assert loads["c-gone"].left and loads["c-gone"].capacity == 0
    assert views.percent(loads["c-gone"].utilization) == "–"
    assert loads["c-lee"].pool == loads["c-dana"].pool


def test_a_plan_assignment_gives_the_loads_after_the_plan() -> None:
    book = small_book()
    plan = solve(book, time_limit=5)
    after = {c.id: c for c in views.csm_views(book, {a.account: a.csm for a in plan.assignments})}
    for load in plan.csm_loads:
        assert abs(after[load.csm].hours - load.hours) < 0.01


def test_the_chart_scale_is_a_round_number_past_the_largest_bar_and_the_line() -> None:
    csms = views.csm_views(small_book())
    chart = views.utilization_chart([c for c in csms if not c.left], 1560)
    assert chart.scale == 2000
    assert [label for _at, label in chart.ticks] == ["0", "500", "1,000", "1,500", "2,000"]
    assert chart.reference_at == 78.0
    lee = next(b for b in chart.bars if b.label == "Lee")
    assert lee.warn and lee.width == 88.0


def test_moves_filter_by_either_csm_tier_and_region() -> None:
    book = small_book()
    moves = views.move_views(solve(book, time_limit=5), book)
    assert {m.from_csm for m in moves} == {"c-lee", "c-gone"}
    gone = views.filter_moves(moves, "c-gone", None, None)
    assert [m.account for m in gone] == ["orphan"]
    dana = views.filter_moves(moves, "c-dana", None, None)
    assert dana and all("c-dana" in (m.from_csm, m.to_csm) for m in dana)
    assert views.filter_moves(moves, None, "enterprise", "NA") == moves
    assert views.filter_moves(moves, None, "smb", None) == []
    assert views.filter_moves(moves, None, None, "EMEA") == []


def test_money_and_hours_read_the_way_cs_ops_write_them() -> None:
    assert views.money(15_000_000) == "$15M"
    assert views.money(2_450_000) == "$2.45M"
    assert views.money(483_000) == "$483k"
    assert views.money(2500) == "$2,500"
    assert views.money(None) == "no cap"
    assert views.hours(1402.4) == "1,402 h"


def test_links_to_a_csm_quote_the_id_as_one_path_segment() -> None:
    book = Book.model_validate(
        {
            "accounts": [{"id": "a1", "arr": 1000, "tier": "smb", "current_csm": "c?q#1 %"}],
            "csms": [{"id": "c?q#1 %", "name": "Odd", "tiers": ["smb"]}],
        }
    )
    chart = views.utilization_chart(views.csm_views(book), 1.0)
    assert [bar.href for bar in chart.bars] == ["/csms/c%3Fq%231%20%25"]
    assert views.path_segment("x/y") == "x%2Fy"
