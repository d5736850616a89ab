"""SQLite locking fix for the local test clouds (loaded by every service).

oslo.db opens every SQLite transaction with a plain, deferred ``BEGIN``.  A
transaction that first reads and then writes fails at once with "database is
locked" when another process wrote in between (the busy timeout does not apply
to that case).  With several nova/cinder processes sharing one database file
this left servers in ERROR when two were deleted together.

The fix: oslo.db's own ``BEGIN`` becomes ``BEGIN IMMEDIATE``, so a transaction
takes the write lock up front and waits (busy timeout) instead of failing.  Databases are
also switched to WAL so that readers do not block the writer.

This module is found through PYTHONPATH, which the harness sets only for the
services it starts.  It must not import SQLAlchemy itself at interpreter start:
nova and friends monkey-patch threading first, so we wait (import hook) until
``oslo_db.sqlalchemy.engines`` is imported and only then add the listeners.
"""
import importlib.abc
import importlib.machinery
import sys

_TARGET = "oslo_db.sqlalchemy.engines"


def _install_listeners():
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    def on_connect(dbapi_conn, _record):
        if isinstance(dbapi_conn, sqlite3.Connection):
            dbapi_conn.execute("PRAGMA busy_timeout = 60000")
            dbapi_conn.execute("PRAGMA journal_mode = WAL")

    # oslo.db already stops pysqlite's implicit BEGIN and emits its own plain
    # "BEGIN" from a "begin" listener; we upgrade that statement on its way
    # to the driver.
    def before_execute(conn, _cursor, statement, parameters, _context, _many):
        if statement == "BEGIN" and conn.dialect.name == "sqlite":
            statement = "BEGIN IMMEDIATE"
        return statement, parameters

    event.listen(Pool, "connect", on_connect)
    event.listen(Engine, "before_cursor_execute", before_execute, retval=True)


class _Loader(importlib.abc.Loader):
    def __init__(self, wrapped):
        self._wrapped = wrapped

    def create_module(self, spec):
        return self._wrapped.create_module(spec)

    def exec_module(self, module):
        self._wrapped.exec_module(module)
        _install_listeners()


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        sys.meta_path.remove(self)  # once is enough
        return spec


sys.meta_path.insert(0, _Finder())
