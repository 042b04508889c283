"""The public shapes of `POST /v1/recommendations` (routing new accounts); the candidates themselves are the
solver's own (`solver.recommend`)."""

from __future__ import annotations

from pydantic import ConfigDict, Field
from sqlmodel import SQLModel

from solver.recommend import Recommendation
from solver.routing_input import MAX_BATCH
from solver.schema import Account

MAX_TOP = 50


class RecommendationRequest(SQLModel):
    """New accounts to route against the stored book; `assign: true` (scope ops) writes the first choices."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    accounts: list[Account] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"The new accounts, 1 to {MAX_BATCH:,}"
    )
    top: int = Field(default=3, ge=1, le=MAX_TOP, description="Candidates to list per account")
    assign: bool = Field(
        default=False, description="Write each account's first candidate into the stored book (scope ops)"
    )


class RoutedAccount(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    account: str
    csm: str


class RecommendationResponse(SQLModel):
    """Per new account (in the request's order): the CSMs best first and those excluded, by rule."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    request: str = Field(description="This request's id, named by the audit events of an assignment")
    book_revision: int = Field(description="The stored book's revision routed against (after, when assigned)")
    assigned: bool
    written: list[RoutedAccount] = Field(
        default_factory=list,
        max_length=MAX_BATCH,
        description="With assign: the accounts written into the book and their CSM",
    )
    recommendations: list[Recommendation] = Field(max_length=MAX_BATCH)
    seconds: float
