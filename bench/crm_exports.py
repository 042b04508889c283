"""CRM exports as a CS ops person downloads them, for the fixtures, the docs and the tests.

- `crm_policy.json`: the company's own segments (Commercial, Corporate, Majors, with their CRM aliases),
  health bands and the extra hours a yellow or red account takes.
- `crm_csms.csv`: a Salesforce user report: 18-character user ids, emails, titles, segments, territories.
- `crm_accounts.csv`: a Salesforce account report: 18-character ids, a parent column, ARR as `$1,250,000.00`,
  the company's `Segment` values (and a few spelled by hand), owner emails, `Health Score`, and the dirty
  cells of real exports (blank scores, odd case and spaces, timestamps, an owner by name).
- `crm_accounts_eu.csv`: the European org's export: `;`-separated, Windows-1252, `120.000,50 €`, `31.12.2027`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from typing import Any

from bench.books import AS_OF

SEED = 20
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
POLICY: dict[str, Any] = {
    "as_of": AS_OF.isoformat(),
    "tiers": {
        "commercial": {
            "hours_per_year": 30,
            "label": "Commercial",
            "aliases": ["COMM", "Comm."],
            "max_accounts": 60,
        },
        "corporate": {
            "label": "Corporate",
            "aliases": ["CORP", "Corp."],
            "activities": [
                {"name": "QBR prep and delivery", "count": 4, "hours": 5},
                {"name": "monthly check-ins", "count": 12, "hours": 2},
                {"name": "onboarding", "count": 1, "hours": 16, "first_year_only": True},
                {"name": "renewal prep", "count": 1, "hours": 4},
            ],
            "max_accounts": 30,
            "arr_cap": 6_000_000,
        },
        "majors": {
            "hours_per_year": 180,
            "label": "Majors",
            "aliases": ["Major", "Key Account"],
            "level": "senior_csm",
            "max_accounts": 8,
        },
    },
    "health_bands": {"red": 50, "yellow": 75},
    "health_hours": {"green": 1.0, "yellow": 1.2, "red": 1.5},
}
# name, email stem, title, segments, territory, languages, FTE, hire date
CSMS = [
    ("Dana Whitfield", "dana.whitfield", "Senior CSM", "Majors;Corporate", "NA", "en", "1", "2021-04-12"),
    ("Lee Okafor", "lee.okafor", "Senior CSM", "Majors;Corporate", "NA", "en;fr", "1", "2020-09-01"),
    ("Priya Raman", "priya.raman", "CSM", "Corporate;Commercial", "NA", "en", "1", "2023-01-16"),
    ("Tomás Herrera", "tomas.herrera", "CSM", "Commercial", "NA", "en;es", "0.8", "2024-02-05"),
    ("Anke Bauer", "anke.bauer", "CSM", "Corporate;Commercial", "EMEA", "de;en", "1", "2022-06-01"),
    ("Marc Dubois", "marc.dubois", "Associate CSM", "Commercial", "EMEA", "fr;en", "1", "2026-10-05"),
]
STEMS = [
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne",
    "Soylent", "Wonka", "Gringotts", "Oscorp", "Monarch", "Aperture", "Black Mesa", "Massive Dynamic",
    "Nakatomi", "Pied Piper", "Dunder", "Sterling", "Bluth", "Krusty", "Duff", "Prestige", "Virtucon",
    "Zorg", "Weyland", "Spacely", "Cogswell", "Rekall", "Omni", "Buy n Large", "Gekko", "Paper Street",
    "Los Pollos", "Ollivanders", "Wernham", "Dinoco",
]  # fmt: skip
EU_STEMS = [
    "Müller Maschinenbau", "Société Générale de Café", "Björk Design", "Lodz Logistik", "Fjällräven Tools",
    "Crème Brûlée SA", "Ørsted Parts", "Zürich Analytik", "Señorío Vinos", "Göteborg Marine",
    "Krakow Software", "Île Verte", "Ålesund Fisk", "Straße & Partner", "Überall Retail",
]  # fmt: skip


def salesforce_id(prefix: str, rng: random.Random) -> str:
    """An 18-character Salesforce id: 15 case-sensitive characters and their 3-character checksum."""
    base = prefix + "".join(rng.choice(_CHARS) for _ in range(15 - len(prefix)))
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(base[chunk * 5 : chunk * 5 + 5]) if ch.isupper())
        suffix += _ALPHABET[bits]
    return base + suffix


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _users(rng: random.Random) -> list[tuple[str, str, str, str, str]]:
    """(user id, name, email, segments, territory) of each CSM."""
    return [
        (salesforce_id("0055e000004", rng), name, f"{stem}@example.com", segments, territory)
        for name, stem, _t, segments, territory, *_rest in CSMS
    ]


def csms_csv(rng: random.Random) -> str:
    header = ["User ID", "Full Name", "Email", "Title", "Segments", "Territory", "Languages", "FTE", "Hire Date",
              "Manager", "Slack Handle"]  # fmt: skip
    rows = [header]
    for (user_id, *_), (name, stem, title, segments, territory, languages, fte, hired) in zip(
        _users(rng), CSMS, strict=True
    ):
        rows.append([user_id, name, f"{stem}@example.com", title, segments, territory, languages, fte, hired,
                     "Morgan Lee", f"@{stem.split('.')[0]}"])  # fmt: skip
    return _csv(rows)


def _segment(rng: random.Random) -> tuple[str, float]:
    roll = rng.random()
    if roll < 0.15:
        return "Majors", rng.uniform(300_000, 1_500_000)
    if roll < 0.5:
        return "Corporate", rng.uniform(50_000, 250_000)
    return "Commercial", rng.uniform(8_000, 45_000)


def accounts_csv(rng: random.Random) -> str:
    users = [u for u in _users(random.Random(SEED)) if u[4] == "NA"]
    header = ["Account ID", "Account Name", "Parent Account ID", "ARR", "Segment", "Billing Region",
              "Account Owner Email", "Renewal Date", "Customer Since", "Health Score", "Industry",
              "Last Activity"]  # fmt: skip
    rows = [header]
    parents: list[str] = []
    for i, stem in enumerate(STEMS):
        segment, arr = _segment(rng)
        eligible = [u for u in users if segment in u[3].split(";")]
        owner = rng.choice(eligible)
        start = AS_OF - dt.timedelta(days=rng.randint(60, 1500))
        renewal = dt.date(
            AS_OF.year + (1 if start.month <= AS_OF.month else 0), start.month, min(start.day, 28)
        )
        account_id = salesforce_id("0015e00001", rng)
        parent = ""
        if segment == "Corporate" and parents and rng.random() < 0.25:
            parent = parents[0]
        elif segment == "Corporate":
            parents.append(account_id)
        score = "" if rng.random() < 0.1 else str(rng.randint(20, 98))
        cells = {
            "arr": f"${arr:,.2f}",
            "segment": segment,
            "owner": owner[2],
            "renewal": renewal.strftime("%m/%d/%Y"),
        }
        # The dirty cells of real exports, each one a reader must take in its stride.
        if i == 3:
            cells["segment"] = "CORP" if segment == "Corporate" else segment.upper()
        if i == 5:
            cells["owner"] = owner[2].upper()
        if i == 7:
            cells["segment"] = f" {segment.lower()} "
        if i == 11:
            cells["renewal"] = renewal.isoformat() + "T00:00:00.000Z"
        if i == 13:
            cells["owner"] = owner[1]  # the owner's name, as a hand-made sheet has it
        if i == 17:
            cells["arr"] = f"USD {arr:,.0f}"
        rows.append([account_id, f"{stem} {'Inc.' if i % 2 else 'Corp'}", parent, cells["arr"], cells["segment"],
                     "NA", cells["owner"], cells["renewal"], start.isoformat(), score,
                     rng.choice(["Software", "Manufacturing", "Healthcare", "Retail"]),
                     (AS_OF - dt.timedelta(days=rng.randint(0, 60))).isoformat()])  # fmt: skip
    return _csv(rows)


def accounts_eu_csv(rng: random.Random) -> bytes:
    users = [u for u in _users(random.Random(SEED)) if u[4] == "EMEA"]
    header = ["Account ID", "Account Name", "ARR (EUR)", "Segment", "Billing Region", "Account Owner Email",
              "Renewal Date", "Health Score"]  # fmt: skip
    rows = [header]
    for stem in EU_STEMS:
        segment, arr = _segment(rng)
        if segment == "Majors":
            segment, arr = "Corporate", arr / 6
        owner = rng.choice([u for u in users if segment in u[3].split(";")])
        renewal = AS_OF + dt.timedelta(days=rng.randint(30, 400))
        whole, cents = f"{arr:,.2f}".split(".")
        rows.append([salesforce_id("0015e00002", rng), stem, f"{whole.replace(',', '.')},{cents} €", segment,
                     "EMEA", owner[2], renewal.strftime("%d.%m.%Y"), f"{rng.randint(30, 95)} %"])  # fmt: skip
    return _csv(rows, delimiter=";").encode("cp1252")


def crm_files() -> dict[str, bytes]:
    """Every CRM fixture file by name, the same bytes on every run."""
    return {
        "crm_policy.json": (json.dumps(POLICY, indent=2, ensure_ascii=False) + "\n").encode(),
        "crm_csms.csv": csms_csv(random.Random(SEED)).encode(),
        "crm_accounts.csv": accounts_csv(random.Random(SEED + 1)).encode(),
        "crm_accounts_eu.csv": accounts_eu_csv(random.Random(SEED + 2)),
    }
