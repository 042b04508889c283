"""The headers and words of CRM exports that bookplan understands: column aliases per field, and the
segment, level and health words of CRMs. Headers and words are compared ignoring case, spaces, dashes."""

from __future__ import annotations

from typing import Literal

from solver.schema import LEVELS

Kind = Literal["accounts", "csms"]
ACCOUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": (
        "id",
        "account id",
        "accountid",
        "salesforce id",
        "record id",
        "company id",
        "crm id",
        "account 18 id",
    ),
    "name": ("name", "account name", "company name", "company", "account"),
    "arr": (
        "arr",
        "annual recurring revenue",
        "acv",
        "annual contract value",
        "amount",
        "arr usd",
        "arr eur",
    ),
    "tier": ("tier", "segment", "customer tier", "account tier", "customer segment", "service tier"),
    "hours_per_year": ("hours per year", "hours", "annual hours"),
    "region": ("region", "territory", "geo", "billing region", "sales region"),
    "language": ("language", "preferred language", "locale"),
    "current_csm": (
        "current csm",
        "owner",
        "account owner",
        "csm",
        "customer success manager",
        "csm owner",
        "owner email",
        "account owner email",
        "owner id",
        "account owner id",
        "company owner",
    ),
    "pinned": ("pinned", "locked", "pin"),
    "renewal_date": ("renewal date", "next renewal", "contract end date", "renewal"),
    "start_date": ("start date", "contract start date", "customer since", "onboarding date"),
    "parent_id": ("parent id", "parent account id", "parent account", "ultimate parent", "parent"),
    "health": ("health", "health status", "account health"),
    "health_score": ("health score", "customer health score", "score"),
    "previous_csm": ("previous csm", "previous owner"),
    "handoff_on": ("handoff on", "handoff date"),
}
CSM_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "csm id", "employee id"),
    "name": ("name", "full name", "csm name", "user name", "csm"),
    "level": ("level", "title", "role", "job title"),
    "tiers": ("tiers", "segments", "segment", "tier"),
    "fte": ("fte",),
    "capacity_hours": ("capacity hours", "capacity", "hours"),
    "arr_cap": ("arr cap", "max arr", "arr limit"),
    "max_accounts": ("max accounts", "account cap", "max book size"),
    "regions": ("regions", "region", "territories", "territory", "geo"),
    "languages": ("languages", "language"),
    "accepting_new": ("accepting new", "accepting new accounts", "available"),
    "start_date": ("start date", "hire date"),
    "end_date": ("end date", "termination date", "leaving date"),
    "email": ("email", "email address", "e-mail", "work email"),
    "crm_user_id": ("crm user id", "user id", "owner id", "salesforce user id", "hubspot owner id", "crm id"),
}
COLUMNS: dict[Kind, dict[str, tuple[str, ...]]] = {"accounts": ACCOUNT_COLUMNS, "csms": CSM_COLUMNS}
NUMBER_FIELDS = {"arr", "hours_per_year", "health_score", "fte", "capacity_hours", "arr_cap", "max_accounts"}
PERCENT_SCALE = {"fte": 1.0, "health_score": 100.0}  # what 100 % means where a percentage makes sense
FREE_TEXT = {"name"}  # kept as written (edge spaces too), so an export reads back the same

# Segment words of CRMs that mean a built-in segment, tried after the book's own labels and aliases.
TIER_SYNONYMS = {
    "mm": "mid_market",
    "commercial": "mid_market",
    "ent": "enterprise",
    "largeenterprise": "strategic",
    "key": "strategic",
    "smallbusiness": "smb",
    "small": "smb",
    "lowtouch": "tech_touch",
    "digital": "tech_touch",
    "scaled": "tech_touch",
}
LEVEL_ALIASES = {
    **{lv.replace("_", ""): lv for lv in LEVELS},
    "associate": "associate_csm",
    "associatecustomersuccessmanager": "associate_csm",
    "customersuccessmanager": "csm",
    "seniorcsm": "senior_csm",
    "srcsm": "senior_csm",
    "seniorcustomersuccessmanager": "senior_csm",
    "csmanager": "cs_manager",
    "customersuccessmanagermanager": "cs_manager",
    "director": "director_cs",
    "directorcustomersuccess": "director_cs",
    "vp": "vp_cs",
    "vpcustomersuccess": "vp_cs",
}
HEALTH_ALIASES = {
    "green": "green",
    "healthy": "green",
    "good": "green",
    "yellow": "yellow",
    "amber": "yellow",
    "neutral": "yellow",
    "warning": "yellow",
    "red": "red",
    "atrisk": "red",
    "poor": "red",
    "critical": "red",
    "unhealthy": "red",
}
