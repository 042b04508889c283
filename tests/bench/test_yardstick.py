"""The exact yardsticks on books small enough to solve by hand: the least moves with every band held, and
the least moves for a plan's balance (its largest utilization, its CSMs out of band, its accounts served)."""

from __future__ import annotations

from bench.yardstick import least_moves_for_balance, least_moves_with_all_bands
from solver.schema import Assignment, Book, Plan, SolverInfo


def _book(held: dict[str, list[int]], caps: dict[str, float], **policy: object) -> Book:
    """Accounts named by their CSM and hours (`held`: CSM -> hours of each account it holds)."""
    return Book.model_validate(
        {
            "accounts": [
                {
                    "id": f"{csm}{i}",
                    "arr": 100_000,
                    "tier": "enterprise",
                    "region": "NA",
                    "hours_per_year": h,
                    "current_csm": csm,
                }
                for csm, hours in held.items()
                for i, h in enumerate(hours)
            ],
            "csms": [
                {"id": c, "tiers": ["enterprise"], "regions": ["NA"], "capacity_hours": cap, **extra}
                for c, cap in caps.items()
                for extra in [{"end_date": "2026-11-01"} if cap == 0 else {}]
            ],
            "policy": {"as_of": "2026-11-22", **policy},
        }
    )


def _plan(book: Book, moved: dict[str, str | None]) -> Plan:
    """The book as it stands with `moved` (account -> new CSM, None: unserved)."""
    held = {a.id: moved.get(a.id, a.current_csm) for a in book.accounts}
    return Plan(
        status="feasible",
        assignments=[Assignment(account=a, csm=c) for a, c in held.items() if c is not None],
        solver=SolverInfo(version="test", seconds=0.0, seed=0, input_sha256="test"),
    )


# A holds four 200 h accounts (80 %), B none: the pool is at 40 %, its band 30-50 % (300-500 h).
TWO = {"A": [200, 200, 200, 200]}
TWO_CAPS = {"A": 1000.0, "B": 1000.0}


def test_every_band_held_takes_two_moves() -> None:
    answer = least_moves_with_all_bands(_book(TWO, TWO_CAPS), time_limit=20)
    assert (answer.status, answer.moves, answer.bound) == ("optimal", 2, 2)


def test_a_csm_above_the_band_is_brought_down_too() -> None:
    # A 900 h, B and C 300 h of 1000 h each: the pool at 50 %, its band 400-600 h. B and C each take one
    # of A's accounts, and A, still at 700 h, gives up a third.
    book = _book({"A": [100] * 9, "B": [100] * 3, "C": [100] * 3}, {"A": 1000, "B": 1000, "C": 1000})
    answer = least_moves_with_all_bands(book, time_limit=20)
    assert (answer.status, answer.moves, answer.bound) == ("optimal", 3, 3)


def test_a_looser_balance_needs_fewer_moves_than_a_tighter_one() -> None:
    book = _book(TWO, TWO_CAPS)
    # Tight: two each, both at 40 %, none out of band: A must shed two accounts.
    tight = least_moves_for_balance(book, _plan(book, {"A0": "B", "A1": "B"}), time_limit=20)
    # Loose: A at 60 %, B at 20 %, both out of band: one move is the least that brings A to 60 %.
    loose = least_moves_for_balance(book, _plan(book, {"A0": "B"}), time_limit=20)
    # As it stands: 80 %, both out: nothing to move.
    still = least_moves_for_balance(book, _plan(book, {}), time_limit=20)
    assert (tight.status, tight.moves, tight.bound) == ("optimal", 2, 2)
    assert (loose.status, loose.moves, loose.bound) == ("optimal", 1, 1)
    assert (still.status, still.moves, still.bound) == ("optimal", 0, 0)
    (pool,) = loose.plan.values()
    assert (pool.served, pool.moves, float(pool.max_utilization), pool.out_of_band) == (4, 1, 0.6, 2)


def test_the_plans_out_of_band_count_is_held() -> None:
    # A 500 h, B 500 h, C 200 h of 1000 h each: the pool at 40 %, C at 20 % is out of the 30-50 % band.
    # One move from A to C puts everyone in the band at 50 % at most; the book as it stands already has
    # 50 % at most, so only the out-of-band count asks for that move.
    book = _book({"A": [100] * 5, "B": [100] * 5, "C": [100] * 2}, {"A": 1000, "B": 1000, "C": 1000})
    answer = least_moves_for_balance(book, _plan(book, {"A0": "C"}), time_limit=20)
    assert (answer.status, answer.moves, answer.bound) == ("optimal", 1, 1)
    (pool,) = answer.plan.values()
    assert (float(pool.max_utilization), pool.out_of_band) == (0.5, 0)


def test_a_metric_band_counts_a_csm_out() -> None:
    # Hours are all within 2 % of each other; the accounts band (0 %, so ±1) holds 1-3 accounts each.
    book = _book({"A": [10, 10, 10, 10]}, TWO_CAPS, balance_metrics={"accounts": 0.0})
    balanced = least_moves_for_balance(book, _plan(book, {"A0": "B"}), time_limit=20)
    assert (balanced.moves, balanced.bound) == (1, 1)
    assert [p.out_of_band for p in balanced.plan.values()] == [0]
    assert least_moves_for_balance(book, _plan(book, {}), time_limit=20).moves == 0
    # Three accounts each for A and B, none for C (band 1-3): C takes one.
    book = _book(
        {"A": [10] * 3, "B": [10] * 3}, {"A": 1000, "B": 1000, "C": 1000}, balance_metrics={"accounts": 0.0}
    )
    assert least_moves_with_all_bands(book, time_limit=20).moves == 1


def test_a_metric_band_brings_a_csm_down() -> None:
    # Nine accounts of 10 h over three CSMs: each holds 2-4 (3 ± 1). A's five are one too many.
    book = _book(
        {"A": [10] * 5, "B": [10] * 2, "C": [10] * 2},
        {"A": 1000, "B": 1000, "C": 1000},
        balance_metrics={"accounts": 0.0},
    )
    assert least_moves_with_all_bands(book, time_limit=20).moves == 1
    balanced = least_moves_for_balance(book, _plan(book, {"A0": "B"}), time_limit=20)
    assert (balanced.moves, [p.out_of_band for p in balanced.plan.values()]) == (1, [0])


def test_as_many_accounts_served_as_the_plan_serves() -> None:
    # A leaver's three 400 h accounts; A (1000 h) can take two: serving two takes two moves.
    book = _book({"L": [400, 400, 400]}, {"L": 0, "A": 1000})
    answer = least_moves_for_balance(book, _plan(book, {"L0": "A", "L1": "A", "L2": None}), time_limit=20)
    assert (answer.status, answer.moves, answer.bound) == ("optimal", 2, 2)
    (pool,) = [p for p in answer.plan.values() if p.accounts]  # the leaver is a pool of its own
    assert (pool.accounts, pool.served, pool.moves) == (3, 2, 2)


def test_a_count_band_with_accounts_left_unserved_is_never_tighter_than_one() -> None:
    # A's three 100 h accounts and the leaver's 2500 h one, which nobody can take: three served, so the
    # accounts band is 1.5 ± 1 each (0 % tolerance, never tighter than ±1). One move puts A and B in it.
    book = _book(
        {"A": [100] * 3, "L": [2500]}, {"A": 1000, "B": 1000, "L": 0}, balance_metrics={"accounts": 0.0}
    )
    plan = _plan(book, {"A0": "B", "L0": None})
    answer = least_moves_for_balance(book, plan, time_limit=20)
    assert (answer.status, answer.moves, answer.bound) == ("optimal", 1, 1)
    (pool,) = [p for p in answer.plan.values() if p.accounts]
    assert (pool.accounts, pool.served, pool.out_of_band) == (4, 3, 0)
