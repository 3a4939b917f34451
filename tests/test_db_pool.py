"""PostgreSQL connection pool: a connection in steady use is not pinged before each transaction;
one that sat idle is, and a dead one is replaced before the request sees it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from engine import db as db_module
from engine.db import Database, connect
from tests.conftest import _fresh_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def pooled(postgres_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, list[int]]]:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.3)
    url, drop = _fresh_postgres(postgres_server_url)
    database = connect(url, pool_size=1)
    dialect = database.write_engine.dialect
    pings: list[int] = []
    real_ping = dialect.do_ping

    def counted(dbapi_connection):  # type: ignore[no-untyped-def]
        pings.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    try:
        yield database, pings
    finally:
        database.dispose()
        drop()


def _backend_pid(database: Database) -> int:
    with database.read() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_connections_in_steady_use_are_not_pinged(pooled):
    database, pings = pooled
    pids = {_backend_pid(database) for _ in range(20)}
    with database.write() as session:
        session.execute(text("SELECT 1"))
    assert len(pids) == 1 and pings == []


def test_an_idle_connection_cut_by_the_server_is_replaced_before_use(pooled, postgres_server_url):
    database, pings = pooled
    first = _backend_pid(database)
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
    finally:
        admin.dispose()
    time.sleep(0.4)  # idle longer than PING_AFTER_IDLE_SECONDS
    second = _backend_pid(database)  # no OperationalError: the dead connection never reached us
    assert second != first and len(pings) == 1
    assert _backend_pid(database) == second and len(pings) == 1  # in use again: no ping


def _driver(session_or_connection):  # type: ignore[no-untyped-def]
    connection = session_or_connection.connection() if isinstance(session_or_connection, Session) else session_or_connection
    return connection.connection.dbapi_connection


def test_a_single_statement_read_opens_no_transaction_and_leaves_writes_transactional(pooled):
    database, _ = pooled  # pool_size=1: the read and the writes below share one connection
    with database.read_one() as connection:
        connection.execute(text("SELECT 1"))
        assert _driver(connection).info.transaction_status == 0  # IDLE: no BEGIN was sent
    with database.write() as session:
        session.execute(text("CREATE TABLE t (v int)"))
    try:
        with database.write() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            assert _driver(session).autocommit is False
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with database.read_one() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_a_single_statement_write_is_its_own_transaction(pooled):
    database, _ = pooled
    with database.write() as session:
        session.execute(text("CREATE TABLE t (v int)"))
    with database.write_one() as session:
        session.execute(text("INSERT INTO t VALUES (7)"))
        assert _driver(session).info.transaction_status == 0  # IDLE: no BEGIN, already committed
    with database.read_one() as connection:
        assert connection.execute(text("SELECT v FROM t")).scalar_one() == 7
    with database.write() as session:  # the pooled connection is transactional again
        session.execute(text("INSERT INTO t VALUES (8)"))
        assert _driver(session).autocommit is False
