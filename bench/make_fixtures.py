"""Regenerate the fixture books in `fixtures/` deterministically: `uv run python -m bench.make_fixtures`.

- `demo_book.json`: ~300 accounts, ~13 CSMs in NA and EMEA, a historical book with two overloaded CSMs,
  a leaver and their ramping replacement, so the demo has moves to show.
- `infeasible_book.json`: pinned accounts give c-dana 1,720 h of her 1,560 h: the plan must say so.
- `rebalance_book.json`: ~600-account rebalance variant (the shape of the rebalance benchmark).
- `gap_book.json`: a small min_cost generalized-assignment book (8 CSMs x 120 accounts).
- `crm_*.csv`, `crm_policy.json`: CRM exports of a company with its own segments (`bench/crm_exports.py`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from bench import books
from bench.crm_exports import crm_files
from solver.schema import CSM, Account, Book, Policy, Tier

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
DEMO_TIER_MIX: tuple[tuple[Tier, float], ...] = (
    ("strategic", 0.02),
    ("enterprise", 0.20),
    ("mid_market", 0.38),
    ("smb", 0.40),
)
# Seed 6 gives the demo two overloaded CSMs (118 % and 122 %) and a leaver: a plan with moves to explain.
DEMO_SEED = 6


def infeasible_book() -> Book:
    """Sixteen enterprise accounts pinned to Dana at 107.5 h each: 1,720 h against 1,560 h of capacity."""
    as_of = books.AS_OF
    stems = [
        "Northwind Analytics", "Bluefin Logistics", "Contoso Health", "Fabrikam Robotics", "Tailspin Travel",
        "Woodgrove Capital", "Litware Software", "Proseware Media", "Adatum Security", "Lucerne Pharma",
        "Wingtip Retail", "Alpine Energy", "Coho Marine", "Trey Networks", "Humongous Insurance",
        "Graphic Studios", "Relecloud Payments", "Cascade Freight", "Granite Materials", "Redwood Labs",
    ]  # fmt: skip
    accounts = []
    for i, name in enumerate(stems):
        pinned = i < 16
        start = as_of - dt.timedelta(days=400 + 37 * i)
        accounts.append(
            Account(
                id=books._slug(name),
                name=f"{name} Inc.",
                arr=float(60_000 + 7_500 * i),
                tier="enterprise",
                hours_per_year=107.5 if pinned else 95.0,
                region="NA",
                language="en",
                current_csm="c-dana" if pinned else "c-lee",
                pinned=pinned,
                start_date=start,
                renewal_date=books._anniversary_after(start, as_of),
            )
        )
    csms = [
        CSM(
            id=csm_id,
            name=name,
            level="senior_csm",
            tiers=["enterprise"],
            regions=["NA"],
            languages=["en"],
            start_date=dt.date(2022, 3, 1),
        )
        for csm_id, name in (("c-dana", "Dana Kim"), ("c-lee", "Lee Patel"))
    ]
    return Book(accounts=accounts, csms=csms, policy=Policy(as_of=as_of))


def fixture_books() -> dict[str, Book]:
    return {
        "demo_book.json": books.generate_rebalance_book(
            300, seed=DEMO_SEED, regions=("NA", "EMEA"), tier_mix=DEMO_TIER_MIX
        ),
        "infeasible_book.json": infeasible_book(),
        "rebalance_book.json": books.generate_rebalance_book(600, seed=7),
        "gap_book.json": books.generate_gap_book(8, 120, seed=11),
    }


def render(book: Book) -> str:
    """Compact JSON, defaults left out (they come back on load), one line per file plus a newline."""
    data = book.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("csms", [])
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.make_fixtures", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check that the files on disk are current")
    parser.add_argument("--dir", type=Path, default=FIXTURES, help="where to write (default fixtures/)")
    args = parser.parse_args(argv)
    stale = []
    for name, book in fixture_books().items():
        path = args.dir / name
        text = render(book)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"{path}: {len(book.accounts)} accounts, {len(book.csms)} CSMs, {len(text):,} bytes")
    for name, data in crm_files().items():
        path = args.dir / name
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
            continue
        path.write_bytes(data)
        print(f"{path}: {len(data):,} bytes")
    if stale:
        print(f"stale fixtures (run python -m bench.make_fixtures): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
