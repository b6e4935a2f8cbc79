"""The raw database (RawDB interface) on SQLite or PostgreSQL.

One table ``PREFIX_kv(k, v, ver)``. Keys and values are stored as UTF-8 bytes (BLOB /
BYTEA), not TEXT: PostgreSQL's text cannot hold NUL, and lone surrogates are valid Python
str that no text codec accepts, while the contract promises any Unicode content.
Every statement is parameterized; the only interpolated name is the table, built from a
validated prefix and quoted.

A versioned put is a conditional upsert (``... WHERE ver IS NULL OR excluded.ver > ver``)
so a redelivered or reordered write can never move a row back: that is what makes the
write-behind queues' at-least-once delivery safe.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from typing import Any

import attrs

from conformance.errors import StoreTimeout, StoreUnavailable
from conformance.stores import normalize_items

__all__ = ["SqlDB", "check_table_prefix", "open_postgres", "open_sqlite", "redact_url",
           "SQLITE", "POSTGRES", "CREATE", "PUT", "PUT_MANY_PG", "DROP"]

_TABLE_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")

Item = tuple[str, str] | tuple[str, str, int]


def check_table_prefix(prefix: str) -> str:
    if not _TABLE_PREFIX.fullmatch(prefix):
        raise ValueError(f"table prefix {prefix!r} must match [A-Za-z_][A-Za-z0-9_]*")
    return prefix


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


def _dec(b: Any) -> str:
    return bytes(b).decode("utf-8", "surrogatepass")


@attrs.frozen
class _Dialect:
    name: str
    param: str  # the driver's placeholder
    blob: str

    def sql(self, template: str, table: str) -> str:
        return template.replace("{t}", table).replace("?", self.param)


SQLITE = _Dialect("sqlite", "?", "BLOB")
POSTGRES = _Dialect("postgres", "%s", "BYTEA")

# The statements SqlDB runs; public for the benchmark, which times them like for like.
CREATE = "CREATE TABLE IF NOT EXISTS {t} (k {blob} PRIMARY KEY, v {blob} NOT NULL, ver BIGINT)"
_GET = "SELECT v FROM {t} WHERE k = ?"
PUT = "INSERT INTO {t} (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
_PUT_VERSIONED = (
    "INSERT INTO {t} (k, v, ver) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE "
    "SET v = excluded.v, ver = excluded.ver WHERE {t}.ver IS NULL OR excluded.ver > {t}.ver"
)
# PostgreSQL only, with binary parameters (%b): psycopg dumps a bytea[] in text format
# with a regular-expression escape per element, which cost more than the server's work
# (256 rows: 3.3 ms a statement in text, 2.0 ms in binary, measured here).
PUT_MANY_PG = (
    "INSERT INTO {t} (k, v) SELECT * FROM unnest(%b::bytea[], %b::bytea[]) "
    "ON CONFLICT (k) DO UPDATE SET v = excluded.v"
)
_PUT_MANY_VERSIONED_PG = (
    "INSERT INTO {t} (k, v, ver) SELECT * FROM unnest(%b::bytea[], %b::bytea[], %b::bigint[]) "
    "ON CONFLICT (k) DO UPDATE "
    "SET v = excluded.v, ver = excluded.ver WHERE {t}.ver IS NULL OR excluded.ver > {t}.ver"
)
_DELETE = "DELETE FROM {t} WHERE k = ?"
_SNAPSHOT = "SELECT k, v FROM {t}"
DROP = "DROP TABLE IF EXISTS {t}"


@attrs.define(eq=False)
class SqlDB:
    """RawDB on a DB-API connection; one statement at a time (a lock), autocommit, and an
    explicit transaction for `put_many`. Reconnects after a lost PostgreSQL connection."""

    dialect: _Dialect
    connect: Any  # () -> connection; called again after the connection is lost
    table: str
    drop_on_close: bool = True
    cleanup_dir: str | None = None
    connection: Any = attrs.field(default=None, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def __attrs_post_init__(self) -> None:
        self.connection = self.connect()
        self._run(lambda c: c.execute(self._sql(CREATE.replace("{blob}", self.dialect.blob))))

    def _sql(self, template: str) -> str:
        return self.dialect.sql(template, f'"{self.table}"')

    def _live_connection(self) -> Any:
        conn = self.connection
        if self.dialect is POSTGRES and (conn is None or conn.closed or conn.broken):
            try:
                self.connection = conn = self.connect()
            except Exception as exc:  # psycopg.OperationalError; psycopg is optional
                raise StoreUnavailable(f"postgres: {_one_line(exc)}") from exc
        return conn

    def _run(self, body: Any) -> Any:
        """Run body(cursor) under the lock; map connection failures to the contract."""
        with self._lock:
            conn = self._live_connection()
            try:
                if self.dialect is POSTGRES:
                    with conn.cursor() as cur:
                        return body(cur)
                return body(conn)
            except Exception as exc:
                raise _translate(self.dialect, conn, exc) from exc

    def get(self, key: str) -> str | None:
        row = self._run(lambda c: c.execute(self._sql(_GET), (_enc(key),)).fetchone())
        return None if row is None else _dec(row[0])

    def put(self, key: str, value: str, version: int | None = None) -> None:
        if version is None:
            self._run(lambda c: c.execute(self._sql(PUT), (_enc(key), _enc(value))))
        else:
            self._run(lambda c: c.execute(self._sql(_PUT_VERSIONED),
                                          (_enc(key), _enc(value), int(version))))

    def put_many(self, items: Any) -> None:
        """All items in one transaction, in order (a key may appear twice); the batch is
        validated whole (`normalize_items`) before a statement is sent."""
        rows = normalize_items(items)  # (key, value, version) triples, version None or an int
        if not rows:
            return
        plain = [(_enc(k), _enc(v)) for k, v, version in rows if version is None]
        versioned = [(_enc(k), _enc(v), version) for k, v, version in rows if version is not None]
        if plain and versioned:
            # Mixed batches keep their order, one statement per item.
            def body(c: Any) -> None:
                for k, v, version in rows:
                    if version is None:
                        c.execute(self._sql(PUT), (_enc(k), _enc(v)))
                    else:
                        c.execute(self._sql(_PUT_VERSIONED), (_enc(k), _enc(v), version))
            self._transaction(body)
        elif self.dialect is POSTGRES:
            self._put_many_postgres(plain, versioned)
        else:
            sql, params = (self._sql(PUT), plain) if plain else (self._sql(_PUT_VERSIONED),
                                                                  versioned)
            self._transaction(lambda c: c.executemany(sql, params))

    def _put_many_postgres(self, plain: list[tuple[bytes, bytes]],
                           versioned: list[tuple[bytes, bytes, int]]) -> None:
        """One statement over arrays (unnest, binary parameters): a single round trip and
        no BEGIN/COMMIT, about 3x the rows/s of executemany in a transaction here (the
        write-policy benchmark prints both). One statement may
        not touch a row twice, so each key keeps the item that applying the batch in
        order would leave: the last plain one; the first of the highest version (an
        equal version is refused, see _PUT_VERSIONED)."""
        if plain:
            last = dict(plain)
            self._run(lambda c: c.execute(self._sql(PUT_MANY_PG),
                                          (list(last), list(last.values()))))
            return
        best: dict[bytes, tuple[bytes, int]] = {}
        for key, value, version in versioned:
            seen = best.get(key)
            if seen is None or version > seen[1]:
                best[key] = (value, version)
        self._run(lambda c: c.execute(self._sql(_PUT_MANY_VERSIONED_PG), (
            list(best), [v for v, _ in best.values()], [n for _, n in best.values()])))

    def _transaction(self, body: Any) -> None:
        if self.dialect is POSTGRES:
            def pg(cur: Any) -> None:
                with cur.connection.transaction():
                    body(cur)
            self._run(pg)
            return

        def lite(conn: Any) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                body(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        self._run(lite)

    def delete(self, key: str) -> None:
        self._run(lambda c: c.execute(self._sql(_DELETE), (_enc(key),)))

    # --- harness-only -------------------------------------------------------------------
    def snapshot(self) -> dict[str, str]:
        rows = self._run(lambda c: c.execute(self._sql(_SNAPSHOT)).fetchall())
        return {_dec(k): _dec(v) for k, v in rows}

    def close(self) -> None:
        try:
            if self.drop_on_close:
                try:
                    self._run(lambda c: c.execute(self._sql(DROP)))
                except (ConnectionError, TimeoutError):
                    pass  # the server is gone; nothing left to drop from here
            if self.connection is not None:
                self.connection.close()
        finally:
            if self.cleanup_dir:
                shutil.rmtree(self.cleanup_dir, ignore_errors=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _translate(dialect: _Dialect, conn: Any, exc: Exception) -> Exception:
    if dialect is POSTGRES:
        import psycopg

        if isinstance(exc, psycopg.OperationalError):
            # A statement sent on a connection that then broke may have been committed.
            return StoreTimeout(f"postgres: {_one_line(exc)}")
        if isinstance(exc, psycopg.InterfaceError):
            return StoreUnavailable(f"postgres: {_one_line(exc)}")
    return exc


def open_sqlite(path: str | None = None, *, table_prefix: str = "cc") -> SqlDB:
    """SQLite at `path`, or in a new temporary directory removed on close."""
    import sqlite3

    cleanup = None
    if path is None:
        cleanup = tempfile.mkdtemp(prefix="cc-sqlite-")
        path = os.path.join(cleanup, "db.sqlite3")

    def connect() -> Any:
        # isolation_level=None: autocommit, so each put is its own durable transaction
        # and put_many controls its own BEGIN/COMMIT.
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    try:
        return SqlDB(SQLITE, connect, check_table_prefix(table_prefix) + "_kv",
                     drop_on_close=cleanup is None, cleanup_dir=cleanup)
    except sqlite3.Error as exc:  # a missing directory, a file that is not a database
        raise StoreUnavailable(f"sqlite at {path!r}: {_one_line(exc)}") from exc


def open_postgres(url: str, *, table_prefix: str = "cc", connect_timeout: int = 5) -> SqlDB:
    """PostgreSQL at `url` (psycopg 3, autocommit).

    Raises:
        StoreUnavailable: the server cannot be reached.
    """
    import psycopg

    def connect() -> Any:
        return psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)

    try:
        return SqlDB(POSTGRES, connect, check_table_prefix(table_prefix) + "_kv")
    except psycopg.Error as exc:
        raise StoreUnavailable(f"postgres at {redact_url(url)}: {_one_line(exc)}") from exc


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages."""
    return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)
