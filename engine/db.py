"""Connections, transactions and migrations.

SQLite: WAL mode, and every write transaction starts with ``BEGIN IMMEDIATE`` so two writers
serialize at the start instead of failing at commit with "database is locked"; WAL checkpoints
run in a background thread, not in commits (:mod:`engine.sqlite_checkpoint`). Reads use a second
engine with ordinary deferred transactions so they never wait for a writer.
PostgreSQL: one engine; writers lock the instance row with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import InvalidatePoolError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.sqlite_checkpoint import Checkpointer
from engine.sqlite_write_queue import WriteQueue

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# A pooled connection in use a moment ago is alive; one that sat idle may have been cut (a database
# restart, a firewall's idle timeout). pool_pre_ping pinged at every checkout: a round trip before
# each of a request's 2-4 transactions, 8% of a web process's time under load (py-spy, 16 clients).
PING_AFTER_IDLE_SECONDS = 1.0


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message says which and why, in Russian."""


@dataclass
class Database:
    url: str
    write_engine: Engine
    read_engine: Engine
    checkpointer: Checkpointer | None = None
    write_queue: WriteQueue | None = None  # SQLite: this process's writers, in turn

    @property
    def is_sqlite(self) -> bool:
        return self.write_engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.write_engine.dialect.name == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commit on success, roll back on any exception."""
        with _transaction(self._write_factory) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._read_factory()
        try:
            yield session
        finally:
            # close() (not rollback()) so loaded rows stay readable after the block.
            session.close()

    @contextmanager
    def write_one(self) -> Iterator[Session]:
        """A write of a single statement (one INSERT that no other row has to agree with): on
        PostgreSQL the statement is its own transaction, without BEGIN and COMMIT round trips.
        Anything of two statements or more belongs in :meth:`write`."""
        with _transaction(self._write_one_factory) as session:
            yield session

    @contextmanager
    def read_one(self) -> Iterator[Connection]:
        """A read of one statement, or of several that need no common snapshot, on a plain
        connection (no ORM session: its bookkeeping cost more than such a statement). On
        PostgreSQL it runs in autocommit, without the BEGIN and ROLLBACK round trips of
        :meth:`read`. A bearer token, a task's access rule and a worklist page are read so."""
        with self._read_one_engine.connect() as connection:
            yield connection

    def __post_init__(self) -> None:
        self._write_factory = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_factory = sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite is in-process: a transaction costs no round trip there, and writers need BEGIN IMMEDIATE.
        self._read_one_engine = (self.read_engine if self.is_sqlite
                                 else self.read_engine.execution_options(isolation_level="AUTOCOMMIT"))
        self._write_one_factory = (self._write_factory if self.is_sqlite else sessionmaker(
            self.write_engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False))

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()

    def check(self) -> None:
        try:
            with self.read_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise DatabaseUnavailable(_describe_failure(self.url, exc)) from exc


@contextmanager
def _transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


def upsert_statements(table: Any, conflict: Sequence[Any], update: Callable[[Any], dict[str, Any]],
                      returning: Sequence[Any] = ()) -> dict[str, Any]:
    """``INSERT … ON CONFLICT (conflict) DO UPDATE SET update(insert)`` built once per dialect, for
    ``connection.execute(statements[connection.dialect.name], values)``: one statement, whether or
    not the row exists. ``update`` gets the insert, so it can name ``insert.excluded``."""
    built = {}
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite)):
        insert = dialect.insert(table)
        statement = insert.on_conflict_do_update(index_elements=list(conflict), set_=update(insert))
        built[name] = statement.returning(*returning) if returning else statement
    return built


def _describe_failure(url: str, exc: Exception) -> str:
    safe = make_url(url).render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
    return f"База данных недоступна ({safe}): {reason}"


_HAS_TURN = "medflow.sqlite_write_turn"  # in a connection's info: it holds its process's turn to write
# SQLite has no "wait without end": 0 (off, as PostgreSQL reads it) becomes a month.
_SQLITE_NO_LIMIT_MS = 30 * 24 * 3600 * 1000


def _sqlite_engine(url: str, checkpointer: Checkpointer | None, busy_seconds: float,
                   queue: WriteQueue | None = None) -> Engine:
    """The write engine when given this process's ``queue`` of writers; else the read engine."""
    # The write lock is the whole database's: a writer waits this long for the one before it,
    # then gives up as a held row does on PostgreSQL (is_lock_timeout).
    busy_ms = int(busy_seconds * 1000) if busy_seconds > 0 else _SQLITE_NO_LIMIT_MS
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        # The default 2 MB page cache made every statement read pages again once the database
        # outgrew it (10,000 instances: ~0.5 ms a statement instead of ~0.05).
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA temp_store=MEMORY")
        if checkpointer is not None:  # commits do not checkpoint; the checkpointer's thread does
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    if queue is None:
        @event.listens_for(engine, "begin")
        def _on_begin_read(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN")

        return engine

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if checkpointer is not None:
            checkpointer.ensure_running()
        queue.acquire(busy_ms / 1000)  # this process's writers in turn; then SQLite's lock
        conn.info[_HAS_TURN] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _end_turn(conn.info)
            raise

    def _end_turn(info: dict[str, Any]) -> None:
        if info.pop(_HAS_TURN, False):
            queue.release()

    def _end_turn_of(conn: Connection) -> None:
        # An invalidated connection gave its turn back in the pool's invalidate event; asking it
        # for its info would raise, and hide the error that invalidated it.
        if not conn.invalidated:
            _end_turn(conn.info)

    # Just before COMMIT or ROLLBACK: the next writer's BEGIN meets the lock for at most SQLite's
    # first 1 ms retry. A connection invalidated or returned to the pool inside a transaction
    # gives its turn too.
    event.listen(engine, "commit", _end_turn_of)
    event.listen(engine, "rollback", _end_turn_of)
    event.listen(engine.pool, "invalidate", lambda _dbapi, record, _exc: _end_turn(record.info))
    event.listen(engine.pool, "checkin", lambda _dbapi, record: _end_turn(record.info))
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before use only when it has been idle: a dead one is replaced
    (the pool retries on ``DisconnectionError``) instead of failing the request."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise InvalidatePoolError(str(exc)) from exc  # the server restarted: all are stale
            raise


def _postgres_limits(engine: Engine, lock_timeout: float, idle_in_transaction: float) -> None:
    """Per-connection limits (a SET once per new connection, not per transaction).

    ``lock_timeout``: a command waiting longer than this for an application another command holds
    gives up (:func:`is_lock_timeout`) instead of queueing without end behind a slow step.
    ``idle_in_transaction_session_timeout``: a process that stops in the middle of a transaction
    (a handler hung on the network, a debugger) loses its session, so its row locks are freed
    and the other processes go on; its transaction rolls back. 0 turns either off."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(lock_timeout * 1000)}")
            cursor.execute(f"SET idle_in_transaction_session_timeout = {int(idle_in_transaction * 1000)}")
        dbapi_connection.commit()


def is_lock_timeout(exc: BaseException) -> bool:
    """The statement gave up waiting for a lock another transaction holds (PostgreSQL's
    ``lock_timeout``, SQLite's busy timeout): the database is there, the row is busy."""
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlstate", None) == "55P03":  # lock_not_available
        return True
    return "database is locked" in str(original or "")


def connect(url: str, pool_size: int = 10, lock_timeout: float = 10.0,
            idle_in_transaction_timeout: float = 300.0) -> Database:
    """Open the database at ``url`` (no schema changes; see :func:`migrate`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        checkpointer = Checkpointer(database) if database and database != ":memory:" else None
        queue = WriteQueue()
        db = Database(url, _sqlite_engine(url, checkpointer, lock_timeout, queue),
                      _sqlite_engine(url, checkpointer, lock_timeout), checkpointer, queue)
    else:
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
        _ping_idle_connections(engine)
        _postgres_limits(engine, lock_timeout, idle_in_transaction_timeout)
        db = Database(url, engine, engine)
    return db


def migrate(db: Database) -> None:
    """Bring the schema to the newest Alembic revision."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with db.write_engine.connect() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
            connection.commit()
    except OperationalError as exc:
        raise DatabaseUnavailable(_describe_failure(db.url, exc)) from exc
