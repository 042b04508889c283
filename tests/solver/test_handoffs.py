"""The handoff schedule: each rule binding (leaver deadline, weekly limit, renewal freeze, nearest renewal
first), the fewest weeks checked by brute force, the validator catching each broken rule, and every plan
of the engine carrying its schedule."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

from solver.engine import solve
from solver.handoffs import schedule_handoffs
from solver.schema import Book, Move, Plan
from solver.validation import assert_valid_plan, validate_plan

AS_OF = dt.date(2026, 11, 23)  # a Monday; wave k starts on AS_OF + 7(k - 1)


def day(offset: int) -> str:
    return (AS_OF + dt.timedelta(days=offset)).isoformat()


def book_with(
    accounts: list[dict[str, Any]], csms: list[dict[str, Any]] | None = None, **policy: Any
) -> Book:
    csms = csms or [
        {"id": "c-ana", "tiers": ["enterprise"]},
        {"id": "c-bo", "tiers": ["enterprise"]},
        {"id": "c-lee", "tiers": ["enterprise"]},
    ]
    return Book.model_validate(
        {
            "accounts": [{"arr": 100_000, "tier": "enterprise", **a} for a in accounts],
            "csms": csms,
            "policy": {"as_of": AS_OF.isoformat(), **policy},
        }
    )


def plan_moving(moves: list[tuple[str, str, str]]) -> Plan:
    """A plan whose only content that matters here is its moves (account, from, to)."""
    return Plan(
        status="feasible",
        moves=[Move(account=a, **{"from": f}, to=t, reason="balance") for a, f, t in moves],
        as_of=AS_OF,
        solver={"version": "test", "seconds": 0.0, "seed": 0, "input_sha256": "0" * 64},
    )


def scheduled(book: Book, moves: list[tuple[str, str, str]]) -> dict[str, Move]:
    plan = schedule_handoffs(book, plan_moving(moves))
    return {m.account: m for m in plan.moves}


def handoff_rules_broken(book: Book, plan: Plan) -> set[str]:
    return {v.rule for v in validate_plan(book, plan) if v.rule.startswith(("handoff", "renewal", "leaver"))}


# ---------------------------------------------------------------- each rule binding


def test_a_leavers_accounts_go_first_and_before_their_last_day() -> None:
    # Without the leaver rule, "soon" (the nearest renewal) would take wave 1.
    book = book_with(
        [
            {"id": "soon", "current_csm": "c-bo", "renewal_date": day(120)},
            {"id": "l1", "current_csm": "c-lee", "renewal_date": day(300)},
            {"id": "l2", "current_csm": "c-lee", "renewal_date": day(310)},
        ],
        csms=[
            {"id": "c-ana", "tiers": ["enterprise"]},
            {"id": "c-bo", "tiers": ["enterprise"]},
            {"id": "c-lee", "tiers": ["enterprise"], "end_date": day(10)},
        ],
        handoffs_per_week=1,
    )
    moves = scheduled(book, [("soon", "c-bo", "c-ana"), ("l1", "c-lee", "c-ana"), ("l2", "c-lee", "c-ana")])
    assert (moves["l1"].wave, moves["l2"].wave, moves["soon"].wave) == (1, 2, 3)
    assert moves["l2"].handoff_on == AS_OF + dt.timedelta(days=7)  # before the end date, day 10
    assert handoff_rules_broken(book, plan_moving([])) == set()


def test_a_csm_who_has_already_left_hands_over_first_though_others_renew_sooner() -> None:
    book = book_with(
        [
            {"id": "soon", "current_csm": "c-bo", "renewal_date": day(120)},
            {"id": "orphan", "current_csm": "c-lee", "renewal_date": day(300)},
        ],
        csms=[
            {"id": "c-ana", "tiers": ["enterprise"]},
            {"id": "c-bo", "tiers": ["enterprise"]},
            {"id": "c-lee", "tiers": ["enterprise"], "end_date": day(-3)},
        ],
        handoffs_per_week=1,
    )
    moves = scheduled(book, [("soon", "c-bo", "c-ana"), ("orphan", "c-lee", "c-ana")])
    assert (moves["orphan"].wave, moves["soon"].wave) == (1, 2)


def test_a_leaver_deadline_that_cannot_be_met_is_said_in_the_reason_and_a_warning() -> None:
    book = book_with(
        [{"id": f"l{i}", "current_csm": "c-lee"} for i in range(3)],
        csms=[
            {"id": "c-ana", "tiers": ["enterprise"]},
            {"id": "c-lee", "tiers": ["enterprise"], "end_date": day(10)},
        ],
        handoffs_per_week=1,
    )
    plan = schedule_handoffs(book, plan_moving([(f"l{i}", "c-lee", "c-ana") for i in range(3)]))
    late = [
        m for m in plan.moves if m.handoff_on is not None and m.handoff_on >= AS_OF + dt.timedelta(days=10)
    ]
    assert len(late) == 1 and "after c-lee leaves on" in late[0].reason
    assert len(plan.warnings) == 1 and late[0].account in plan.warnings[0] and "c-lee" in plan.warnings[0]
    assert handoff_rules_broken(book, plan) == set()


def test_no_csm_receives_more_than_the_weekly_limit_in_one_wave() -> None:
    accounts = [{"id": f"a{i}", "current_csm": "c-bo"} for i in range(7)]
    book = book_with(accounts, handoffs_per_week=3)
    moves = scheduled(book, [(f"a{i}", "c-bo", "c-ana") for i in range(7)])
    waves = sorted(m.wave or 0 for m in moves.values())
    assert waves == [1, 1, 1, 2, 2, 2, 3]
    default = book_with(accounts)  # five a week by default
    assert (
        sorted(
            m.wave or 0 for m in scheduled(default, [(f"a{i}", "c-bo", "c-ana") for i in range(7)]).values()
        )
        == [1] * 5 + [2] * 2
    )


def test_the_limit_is_per_receiving_csm() -> None:
    book = book_with([{"id": f"a{i}", "current_csm": "c-bo"} for i in range(4)], handoffs_per_week=2)
    moves = scheduled(
        book,
        [("a0", "c-bo", "c-ana"), ("a1", "c-bo", "c-ana"), ("a2", "c-bo", "c-lee"), ("a3", "c-bo", "c-lee")],
    )
    assert {m.wave for m in moves.values()} == {1}


def test_a_handoff_inside_the_renewal_freeze_waits_until_the_day_after_the_renewal() -> None:
    # "frozen" renews in 30 days: every day until then is inside its 90-day freeze.
    book = book_with([{"id": "frozen", "current_csm": "c-bo", "renewal_date": day(30)}])
    move = scheduled(book, [("frozen", "c-bo", "c-ana")])["frozen"]
    assert move.handoff_on == AS_OF + dt.timedelta(days=31)
    assert move.wave == 5  # day 31 lies in the week that starts on day 28
    assert "after the renewal on" in move.reason
    # With a 20-day freeze the first week (day 0) lies before the freeze (from day 10): no wait.
    early = scheduled(
        book.model_copy(update={"policy": book.policy.model_copy(update={"renewal_freeze_days": 20})}),
        [("frozen", "c-bo", "c-ana")],
    )["frozen"]
    assert (early.wave, early.handoff_on) == (1, AS_OF)
    assert "renewal" not in early.reason


def test_a_freeze_that_starts_mid_schedule_pushes_the_late_move_past_the_renewal() -> None:
    # One a week; "first" renews soonest so goes first; "second"'s freeze starts on day 5, so week 2
    # (day 7) is inside it, and it waits for the day after its renewal (day 96).
    book = book_with(
        [
            {"id": "first", "current_csm": "c-bo", "renewal_date": day(60 + 90)},
            {"id": "second", "current_csm": "c-bo", "renewal_date": day(95)},
        ],
        handoffs_per_week=1,
    )
    moves = scheduled(book, [("first", "c-bo", "c-ana"), ("second", "c-bo", "c-ana")])
    # Nearest renewal first would put "second" first: it does, since week 1 is before its freeze.
    assert (moves["second"].wave, moves["first"].wave) == (1, 2)


def test_the_nearest_renewal_goes_first() -> None:
    renewals = {"late": 300, "soon": 200, "middle": 250, "none": None}
    book = book_with(
        [
            {"id": k, "current_csm": "c-bo", **({"renewal_date": day(v)} if v else {})}
            for k, v in renewals.items()
        ],
        handoffs_per_week=1,
    )
    moves = scheduled(book, [(k, "c-bo", "c-ana") for k in renewals])
    assert [moves[k].wave for k in ("soon", "middle", "late", "none")] == [1, 2, 3, 4]


# ---------------------------------------------------------------- as short as the rules allow


def _brute_force(book: Book, moves: list[tuple[str, str, str]], horizon: int) -> dict[str, tuple[int, int]]:
    """Per receiving CSM, the least (missed leaver deadlines, weeks) over every wave choice up to `horizon`,
    judged by the contract's rules written out here once more."""
    accounts = {a.id: a for a in book.accounts}
    ends = {c.id: c.end_date for c in book.csms}
    freeze, per_week = book.policy.renewal_freeze_days, book.policy.handoffs_per_week

    def first_free_day(account: str, wave: int) -> dt.date | None:
        renewal = accounts[account].renewal_date
        for d in range(7):
            when = AS_OF + dt.timedelta(days=7 * (wave - 1) + d)
            if renewal is None or not (renewal - dt.timedelta(days=freeze) <= when <= renewal):
                return when
        return None

    best: dict[str, tuple[int, int]] = {}
    for receiver in {t for _a, _f, t in moves}:
        mine = [(a, f) for a, f, t in moves if t == receiver]
        for choice in itertools.product(range(1, horizon + 1), repeat=len(mine)):
            if max(choice.count(w) for w in set(choice)) > per_week:
                continue
            days = [first_free_day(a, w) for (a, _f), w in zip(mine, choice, strict=True)]
            if any(d is None for d in days):
                continue
            late = 0
            for (_a, f), d in zip(mine, days, strict=True):
                end = ends.get(f)
                if end is not None and end > AS_OF and d is not None and d >= end:
                    late += 1
            key = (late, max(choice))
            if receiver not in best or key < best[receiver]:
                best[receiver] = key
    return best


def test_the_schedule_is_as_short_as_the_rules_allow_on_small_books_checked_by_brute_force() -> None:
    rng = random.Random(13)
    for _case in range(60):
        n = rng.randint(1, 5)
        accounts = []
        for i in range(n):
            renewal = rng.choice([None, rng.randint(-5, 40)])
            accounts.append(
                {"id": f"a{i}", "current_csm": rng.choice(["c-bo", "c-lee"]),
                 **({"renewal_date": day(renewal)} if renewal is not None else {})}
            )  # fmt: skip
        book = book_with(
            accounts,
            csms=[
                {"id": "c-ana", "tiers": ["enterprise"]},
                {"id": "c-bo", "tiers": ["enterprise"]},
                {"id": "c-lee", "tiers": ["enterprise"], "end_date": day(rng.randint(1, 20))},
            ],
            handoffs_per_week=rng.randint(1, 2),
            renewal_freeze_days=rng.randint(0, 30),
        )
        moves = [
            (
                a["id"],
                a["current_csm"],
                rng.choice(["c-ana", "c-bo"] if a["current_csm"] == "c-lee" else ["c-ana"]),
            )
            for a in accounts
        ]
        plan = schedule_handoffs(book, plan_moving(moves))
        assert handoff_rules_broken(book, plan) == set(), (accounts, plan.moves)
        best = _brute_force(book, moves, horizon=9)
        for receiver, (late, weeks) in best.items():
            mine = [m for m in plan.moves if m.to == receiver]
            got_late = sum(1 for m in mine if "after c-lee leaves" in m.reason)
            assert (got_late, max(m.wave or 0 for m in mine)) == (late, weeks), (accounts, moves, plan.moves)


# ---------------------------------------------------------------- the validator catches each broken rule


def _good() -> tuple[Book, Plan]:
    book = book_with(
        [
            {"id": "a", "current_csm": "c-bo", "renewal_date": day(200)},
            {"id": "b", "current_csm": "c-bo", "renewal_date": day(250)},
            {"id": "c", "current_csm": "c-bo", "renewal_date": day(30)},
        ],
        handoffs_per_week=1,
    )
    plan = schedule_handoffs(
        book, plan_moving([("a", "c-bo", "c-ana"), ("b", "c-bo", "c-ana"), ("c", "c-bo", "c-ana")])
    )
    assert handoff_rules_broken(book, plan) == set()
    return book, plan


def _edit(plan: Plan, account: str, **changes: Any) -> Plan:
    moves = [m.model_copy(update=changes) if m.account == account else m for m in plan.moves]
    return plan.model_copy(update={"moves": moves})


def test_the_validator_catches_a_handoff_inside_the_renewal_freeze() -> None:
    book, plan = _good()
    bad = _edit(plan, "c", wave=3, handoff_on=AS_OF + dt.timedelta(days=14))
    assert "renewal_freeze" in handoff_rules_broken(book, bad)


def test_the_validator_catches_too_many_handoffs_in_one_week() -> None:
    book, plan = _good()
    bad = _edit(plan, "b", wave=1, handoff_on=AS_OF)
    assert "handoffs_per_week" in handoff_rules_broken(book, bad)


def test_the_validator_catches_a_later_renewal_going_first() -> None:
    book, plan = _good()
    bad = _edit(
        _edit(plan, "a", wave=2, handoff_on=AS_OF + dt.timedelta(days=7)), "b", wave=1, handoff_on=AS_OF
    )
    assert "handoff_order" in handoff_rules_broken(book, bad)


def test_the_validator_catches_a_schedule_longer_than_needed() -> None:
    book, plan = _good()
    bad = _edit(plan, "b", wave=7, handoff_on=AS_OF + dt.timedelta(days=42))  # "c" ends in wave 5
    assert handoff_rules_broken(book, bad) == {"handoff_length"}


def test_the_validator_catches_a_missed_leaver_deadline_nobody_was_told_of() -> None:
    book = book_with(
        [{"id": "l", "current_csm": "c-lee"}],
        csms=[
            {"id": "c-ana", "tiers": ["enterprise"]},
            {"id": "c-lee", "tiers": ["enterprise"], "end_date": day(3)},
        ],
    )
    plan = _edit(
        schedule_handoffs(book, plan_moving([("l", "c-lee", "c-ana")])),
        "l",
        wave=2,
        handoff_on=AS_OF + dt.timedelta(days=7),
    )
    assert "leaver_deadline" in handoff_rules_broken(book, plan)


def test_the_validator_catches_a_move_without_a_handoff() -> None:
    book, plan = _good()
    assert "handoff_missing" in handoff_rules_broken(book, _edit(plan, "a", wave=None, handoff_on=None))


# ---------------------------------------------------------------- the engine


def test_every_move_of_an_engine_plan_carries_its_handoff_and_the_plan_is_valid() -> None:
    # c-lee has left: their six accounts must move, one receiving CSM at most two a week.
    accounts = [
        {"id": f"a{i}", "hours_per_year": 100, "current_csm": "c-lee", "renewal_date": day(100 + 20 * i)}
        for i in range(6)
    ]
    book = book_with(
        accounts,
        csms=[
            {"id": "c-ana", "tiers": ["enterprise"]},
            {"id": "c-bo", "tiers": ["enterprise"]},
            {"id": "c-lee", "tiers": ["enterprise"], "end_date": day(-1)},
        ],
        handoffs_per_week=2,
        time_limit_seconds=5,
    )
    plan = solve(book)
    assert len(plan.moves) == 6
    assert all(m.wave is not None and m.handoff_on is not None for m in plan.moves)
    assert max(m.wave or 0 for m in plan.moves) == 2  # three each, two a week
    assert_valid_plan(book, plan)


def test_the_closed_form_of_each_moves_open_weeks_agrees_with_the_day_by_day_rule() -> None:
    from solver.handoffs import HandoffJob, _window, handoff_day, is_late

    rng = random.Random(7)
    for _ in range(2000):
        renewal = rng.choice([None, AS_OF + dt.timedelta(days=rng.randint(-20, 120))])
        deadline = rng.choice([None, AS_OF + dt.timedelta(days=rng.randint(1, 60))])
        job = HandoffJob("a", "c", renewal, deadline, deadline)
        freeze = rng.randint(0, 100)
        window = _window(job, AS_OF, freeze)
        expected = [k for k in range(1, 30) if handoff_day(job, AS_OF, k, freeze) is not None]
        assert window.waves(29) == expected, (renewal, freeze)
        for k in expected:
            day = handoff_day(job, AS_OF, k, freeze)
            assert day is not None and window.late(k) == is_late(job, day), (renewal, deadline, freeze, k)
