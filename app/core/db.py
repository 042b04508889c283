"""The database engine (SQLite file by default, PostgreSQL through DATABASE_URL) and Alembic helpers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class DatabaseNotMigrated(RuntimeError):
    """The database is absent, empty or behind the code's migrations: `bookplan migrate` fixes it."""


def normalise_url(url: str) -> str:
    # "postgresql://" means psycopg2 to SQLAlchemy; the project ships psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=20, max_overflow=30, pool_pre_ping=True)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=30
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the API read while the runner writes progress; busy_timeout queues writers.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLAlchemy emits BEGIN itself (below) instead of pysqlite's implicit one.
        dbapi_connection.isolation_level = None

    # Writers of this process queue on a lock of their own before BEGIN IMMEDIATE: threads blocked on it
    # wake in turn, where SQLite's busy handler has them poll with sleeps, and under a burst of edits a
    # poller could starve past the busy timeout ("database is locked", a 500).
    writers = threading.Lock()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once (SQLITE_BUSY) when another writer
        # got there first; BEGIN IMMEDIATE takes the write lock up front, so concurrent writers queue.
        if not conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN")
            return
        if not writers.acquire(timeout=WRITE_QUEUE_TIMEOUT_SECONDS):
            raise WritersBusy(
                f"the database is busy: no write slot within {WRITE_QUEUE_TIMEOUT_SECONDS:g} s; retry"
            )
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.release()
            raise
        conn.info[_HOLDS_WRITERS] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _sqlite_end(conn: Any) -> None:
        if conn.info.pop(_HOLDS_WRITERS, False):
            writers.release()

    return engine


_HOLDS_WRITERS = "bookplan_holds_writers"
WRITE_QUEUE_TIMEOUT_SECONDS = 120.0


class WritersBusy(RuntimeError):
    """No write slot on the SQLite database within the queue timeout (the service answers 503)."""


_WRITE = "bookplan_write"


class Database:
    """The engine, and sessions for reading and for writing (a writing one queues for the lock on SQLite)."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(url)
        self.write_engine = self.engine.execution_options(**{_WRITE: True})
        self._reads: dict[Any, tuple[float, Any]] = {}
        self._loading: dict[Any, asyncio.Future[Any]] = {}
        # Bumped by every commit: a load that overlapped a commit may hold older data and is not kept.
        self._generation = 0

        @event.listens_for(self.engine, "commit")
        def _forget_reads(_conn: Any) -> None:
            # Any write committed by this process (an edit, an approval, a job's progress) is seen at once.
            self._generation += 1
            self._reads.clear()

    def cached_read(self, key: Any, ttl_seconds: float, load: Callable[[], Any]) -> Any:
        """`load()`'s answer, reused for `ttl_seconds` unless this process commits a write meanwhile.

        For the hot read paths (a job's status, the book's revision): under 50 concurrent clients each
        database round trip on the event loop counts, and a write by another process (a CLI import, a
        worker) is seen within `ttl_seconds`."""
        now = time.monotonic()
        hit = self._reads.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        value = load()
        if len(self._reads) > 10_000:
            self._reads.clear()
        if generation == self._generation:
            self._reads[key] = (now + ttl_seconds, value)
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def write_session(self) -> Session:
        return Session(self.write_engine, expire_on_commit=False)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction, committed on success and rolled back on any error."""
        with self.write_session() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    async def cached_read_async(self, key: Any, ttl_seconds: float, load: Callable[[], Any]) -> Any:
        """`cached_read` for the event loop: a miss loads in the thread pool, and concurrent misses of one
        key wait for that single load instead of each querying (or blocking the loop on a round trip)."""
        now = time.monotonic()
        hit = self._reads.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation = self._generation
        try:
            value = await run_in_threadpool(load)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not reported twice
            raise
        else:
            future.set_result(value)
            if generation == self._generation:
                self._reads[key] = (now + ttl_seconds, value)
            return value
        finally:
            self._loading.pop(key, None)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(url: str) -> tuple[str | None, str | None]:
    """Apply every pending migration; returns (revision before, revision after)."""
    engine = make_engine(url)
    try:
        before = current_revision(engine)
    finally:
        engine.dispose()
    command.upgrade(alembic_config(url), "head")
    return before, head_revision()


def check_migrated(engine: Engine) -> str:
    current, head = current_revision(engine), head_revision()
    if current is None:
        raise DatabaseNotMigrated(
            f"the database {engine.url.render_as_string(hide_password=True)} has no bookplan tables: "
            "run `bookplan migrate` first"
        )
    if current != head:
        raise DatabaseNotMigrated(
            f"the database {engine.url.render_as_string(hide_password=True)} is at migration {current}, "
            f"the code needs {head}: run `bookplan migrate` first"
        )
    return current
