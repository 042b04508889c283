"""The routing bench on a small book: it really runs the router, the pinned engine and the peers."""

from __future__ import annotations

from bench.recommend_bench import compare_stream, compare_with_engine, new_accounts, planned_book
from solver.recommend import recommend
from solver.routing_book import prepare_routing_book


def test_the_bench_compares_the_router_with_the_pinned_engine_and_the_peers_on_one_stream() -> None:
    book = planned_book(300, seed=1, time_limit=2)
    assert all(a.current_csm is not None for a in book.accounts)
    new = new_accounts(40, seed=2)
    assert not {a.id for a in new} & {a.id for a in book.accounts}
    routing = prepare_routing_book(book)
    chosen = {r.account: (r.candidates[0].csm if r.candidates else None) for r in recommend(routing, new)}
    versus = compare_with_engine(book, routing, new, chosen, time_limit=3)
    assert versus["engine_status"] in ("optimal", "feasible")
    assert versus["router_violations (solver-free validator)"] == []
    assert len(versus["pools"]) == len(routing.pools)
    assert all(p["router_max"] >= 0 and p["engine_max"] >= 0 for p in versus["pools"])
    stream = compare_stream(book, routing, new)
    assert set(stream) == {
        "the book before the stream",
        "bookplan (one by one)",
        "round_robin",
        "least_loaded",
        "round_robin (book-size caps only)",
    }
    assert stream["bookplan (one by one)"]["cap_breaches"] == 0
