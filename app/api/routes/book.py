"""The stored book: whole (`PUT/GET /v1/book`), its summary, single accounts and CSMs, and CSV in and out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from app.api.deps import DbDep, OpsKey, ReadSummaryKey, SessionDep, WriteSessionDep
from app.api.revisions import etag, expected_revisions, set_etag
from app.models import (
    MAX_OFFSET,
    MAX_PAGE,
    AccountList,
    BookReplaced,
    BookRevision,
    BookSummary,
    CSMList,
    ErrorResponse,
    ImportResult,
)
from app.services import book as book_service
from app.services import csv_import, csv_io
from app.services.csv_import import CsvKind
from app.services.keys import Principal
from solver.schema import CSM, MAX_ID_LENGTH, Account, Book, Policy, valid_id

router = APIRouter(prefix="/v1/book", tags=["book"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such account or CSM"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "Conflicts with the book"}
}
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "maxLength": 50 * 1024 * 1024}}},
    }
}
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV with a header row"}
}
PRECONDITION: dict[int | str, dict[str, Any]] = {
    412: {"model": ErrorResponse, "description": "If-Match names a revision the book has moved past"}
}
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"At most {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
IfMatch = Annotated[frozenset[int] | None, Depends(expected_revisions)]
AccountId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(valid_id)]
CsmId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(valid_id)]


@router.get("", response_model=Book)
def read_book(session: SessionDep, response: Response, _key: OpsKey) -> Book:
    """The stored book as a Book document (what `PUT /v1/book` takes); `ETag` is its revision."""
    book, revision = book_service.load_book(session)
    set_etag(response, revision)
    return book


@router.put("", response_model=BookReplaced, responses=PRECONDITION)
def replace_book(
    book: Book, session: WriteSessionDep, response: Response, key: OpsKey, expected: IfMatch
) -> BookReplaced:
    """Replace the whole stored book, all or nothing; with `If-Match`, only if it is still that revision."""
    result = book_service.replace_book(session, book, key, expected)
    set_etag(response, result.revision)
    return result


@router.get("/summary", response_model=BookSummary)
async def read_book_summary(request: Request, db: DbDep, _key: ReadSummaryKey) -> Response:
    """Counts and ARR by tier, for HR tools and dashboards (cached per book revision)."""
    cache: book_service.SummaryCache = request.app.state.summary_cache
    revision = await book_service.current_revision_async(db)
    data = cache.get(revision)
    if data is None:
        revision, data = await run_in_threadpool(cache.compute, db)
    return Response(data, media_type="application/json", headers={"ETag": etag(revision)})


@router.put("/policy", response_model=Policy, responses=PRECONDITION)
def replace_policy(
    policy: Policy, session: WriteSessionDep, response: Response, key: OpsKey, expected: IfMatch
) -> Policy:
    saved, revision = book_service.put_policy(session, policy, key, expected)
    set_etag(response, revision)
    return saved


# ---------------------------------------------------------------- accounts


@router.get("/accounts", response_model=AccountList)
def read_accounts(
    session: SessionDep,
    response: Response,
    _key: OpsKey,
    limit: Limit = 100,
    offset: Offset = 0,
    csm: Annotated[str | None, Query(max_length=200, description="Only this CSM's accounts")] = None,
) -> AccountList:
    set_etag(response, book_service.revision_of(session))
    items = book_service.list_accounts(session, limit, offset, csm)
    return AccountList(items=items, total=book_service.count_accounts(session), limit=limit, offset=offset)


@router.get("/accounts.csv", response_class=Response, responses=CSV_RESPONSE)
def export_accounts_csv(session: SessionDep, _key: OpsKey) -> Response:
    book, revision = book_service.load_book(session)
    return Response(
        csv_io.accounts_csv(book), media_type="text/csv; charset=utf-8", headers={"ETag": etag(revision)}
    )


@router.put("/accounts.csv", response_model=ImportResult, openapi_extra=CSV_BODY, responses=PRECONDITION)
async def import_accounts_csv(
    request: Request, response: Response, key: OpsKey, expected: IfMatch
) -> ImportResult:
    """Replace every account with those of a CSV (CRM export columns accepted; see app/README.md)."""
    return await _import_csv(request, response, "accounts", key, expected)


@router.get("/accounts/{account_id}", response_model=Account, responses=NOT_FOUND)
def read_account(account_id: AccountId, session: SessionDep, response: Response, _key: OpsKey) -> Account:
    set_etag(response, book_service.revision_of(session))
    return book_service.get_account(session, account_id)


@router.put(
    "/accounts/{account_id}", response_model=Account, responses={201: {"model": Account}, **PRECONDITION}
)
def upsert_account(
    account_id: AccountId,
    account: Account,
    response: Response,
    session: WriteSessionDep,
    key: OpsKey,
    expected: IfMatch,
) -> Account:
    """Create or replace one account (201 when created); with `If-Match`, only on that book revision."""
    saved, created, revision = book_service.put_account(session, account_id, account, key, expected)
    if created:
        response.status_code = status.HTTP_201_CREATED
    set_etag(response, revision)
    return saved


@router.delete("/accounts/{account_id}", response_model=BookRevision, responses={**NOT_FOUND, **PRECONDITION})
def delete_account(
    account_id: AccountId, session: WriteSessionDep, response: Response, key: OpsKey, expected: IfMatch
) -> BookRevision:
    revision = book_service.delete_account(session, account_id, key, expected)
    set_etag(response, revision)
    return BookRevision(revision=revision)


# ---------------------------------------------------------------- CSMs


@router.get("/csms", response_model=CSMList)
def read_csms(
    session: SessionDep, response: Response, _key: OpsKey, limit: Limit = 100, offset: Offset = 0
) -> CSMList:
    set_etag(response, book_service.revision_of(session))
    items = book_service.list_csms(session, limit, offset)
    return CSMList(items=items, total=book_service.count_csms(session), limit=limit, offset=offset)


@router.get("/csms.csv", response_class=Response, responses=CSV_RESPONSE)
def export_csms_csv(session: SessionDep, _key: OpsKey) -> Response:
    book, revision = book_service.load_book(session)
    return Response(
        csv_io.csms_csv(book), media_type="text/csv; charset=utf-8", headers={"ETag": etag(revision)}
    )


@router.put("/csms.csv", response_model=ImportResult, openapi_extra=CSV_BODY, responses=PRECONDITION)
async def import_csms_csv(
    request: Request, response: Response, key: OpsKey, expected: IfMatch
) -> ImportResult:
    """Replace every CSM with those of a CSV; accounts must still find their current CSM."""
    return await _import_csv(request, response, "csms", key, expected)


@router.get("/csms/{csm_id}", response_model=CSM, responses=NOT_FOUND)
def read_csm(csm_id: CsmId, session: SessionDep, response: Response, _key: OpsKey) -> CSM:
    set_etag(response, book_service.revision_of(session))
    return book_service.get_csm(session, csm_id)


@router.put("/csms/{csm_id}", response_model=CSM, responses={201: {"model": CSM}, **PRECONDITION})
def upsert_csm(
    csm_id: CsmId, csm: CSM, response: Response, session: WriteSessionDep, key: OpsKey, expected: IfMatch
) -> CSM:
    saved, created, revision = book_service.put_csm(session, csm_id, csm, key, expected)
    if created:
        response.status_code = status.HTTP_201_CREATED
    set_etag(response, revision)
    return saved


@router.delete(
    "/csms/{csm_id}", response_model=BookRevision, responses={**NOT_FOUND, **CONFLICT, **PRECONDITION}
)
def delete_csm(
    csm_id: CsmId, session: WriteSessionDep, response: Response, key: OpsKey, expected: IfMatch
) -> BookRevision:
    """Remove a CSM who holds no accounts (409 naming the accounts otherwise)."""
    revision = book_service.delete_csm(session, csm_id, key, expected)
    set_etag(response, revision)
    return BookRevision(revision=revision)


# ---------------------------------------------------------------- helpers


async def _import_csv(
    request: Request, response: Response, kind: CsvKind, key: Principal, expected: frozenset[int] | None
) -> ImportResult:
    """Both CSV imports: the service replaces the book's `kind`; the response carries the new revision."""
    content_type = request.headers.get("content-type", "")
    db = request.app.state.db
    result = await csv_import.import_csv(db, kind, content_type, request.body, key, expected)
    set_etag(response, result.revision)
    return result
