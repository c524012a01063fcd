"""Engine and session wiring: one transaction-bound session per request (pyramid_tm + zope.sqlalchemy)."""

from __future__ import annotations

from contextvars import ContextVar

import zope.sqlalchemy
from pyramid.settings import asbool
from pyramid_retry import IBeforeRetry, mark_error_retryable
from sqlalchemy import engine_from_config, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, configure_mappers, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from portal.models.meta import Base

__all__ = ["Base", "get_engine", "get_session_factory", "get_tm_session", "includeme", "load_models"]

#: Modules that define mapped classes. Imported lazily by load_models(): model modules import portal.models.meta,
#: so importing them from this package's top level would be circular.
MODEL_MODULES = ("portal.content.models", "portal.content.generation", "portal.accounts.models",
                 "portal.workflow.models")


def load_models() -> None:
    """Import every model module so Base.metadata and the mappers know all tables (idempotent)."""
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)
    configure_mappers()

#: Whether the current unit of work may write. Read-only requests start a plain (deferred) SQLite transaction so
#: they never queue behind writers; everything else takes the write lock up front (BEGIN IMMEDIATE), because a
#: deferred transaction that later upgrades to a writer fails with "database is locked" instead of waiting.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


def _tune_sqlite(engine: Engine) -> None:
    """WAL + busy timeout + immediate write transactions: concurrent writers wait instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy (not the driver) issue BEGIN, so we can make it BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        # WAL + NORMAL is crash-safe (no corruption); it skips an fsync per commit, which matters for writers.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def _retry_after_disconnect(engine: Engine) -> None:
    """A pooled connection the server has closed (restart, failover, idle timeout) fails at its first statement; the
    request then runs again on a fresh connection (pyramid_retry; SQLAlchemy has already discarded the pool's older
    connections). That replaces ``pool_pre_ping``, which costs every request one more round trip to the server.

    Only a failed *statement* is retried: its transaction cannot have committed, so running the request again does
    nothing twice. A connection lost during COMMIT leaves unknown whether the commit landed, so that error stands.
    """

    @event.listens_for(engine, "handle_error")
    def _on_error(context):
        if context.is_disconnect and context.statement is not None and context.sqlalchemy_exception is not None:
            mark_error_retryable(context.sqlalchemy_exception)


def get_engine(settings: dict, prefix: str = "sqlalchemy.") -> Engine:
    load_models()
    engine = engine_from_config(settings, prefix, future=True)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    _retry_after_disconnect(engine)
    return engine


def get_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_tm_session(session_factory: sessionmaker[Session], transaction_manager, request=None) -> Session:
    """A session joined to ``transaction_manager``: committed or aborted by pyramid_tm, never by our code."""
    dbsession = session_factory(info={"request": request})
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


def includeme(config):
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    config.include("pyramid_tm")
    config.include("pyramid_retry")

    engine = settings.get("portal.engine") or get_engine(settings)
    session_factory = get_session_factory(engine)
    config.registry["dbsession_factory"] = session_factory
    config.registry["db_engine"] = engine

    # Writers of an item take its row lock first (portal.workflow.services.lock_for_write). Only tests turn this off,
    # to show that the retry safety net below also gives the right answer on its own.
    row_locks = asbool(settings.get("portal.row_locks", True))

    def dbsession(request):
        # Requests made by scripts may carry their own session (see portal.scripts).
        session = request.environ.get("app.dbsession")
        if session is None:
            session = get_tm_session(session_factory, request.tm, request=request)
            session.info["row_locks"] = row_locks
        return session

    config.add_request_method(dbsession, reify=True)
    # Safety net for simultaneous writes that no lock serialised: a version check that matched no row
    # (StaleDataError) or a unique key taken by a transaction that committed first (IntegrityError), at flush or at
    # commit. pyramid_retry runs the request again (retry.attempts); the new attempt reads the other's work and
    # answers as usual (EditConflict, "already done"). portal.views.errors answers a Dutch 409 when attempts run out.
    mark_error_retryable(StaleDataError)
    mark_error_retryable(IntegrityError)
    config.add_subscriber(_before_retry, IBeforeRetry)
    config.add_tween("portal.models.write_intent_tween_factory", over="pyramid_tm.tm_tween_factory")


def _before_retry(event) -> None:
    """A retried request starts afresh: forget the user the failed attempt cached in the WSGI environ (that object
    belongs to the attempt's closed session and may have been expired by its failed flush)."""
    event.environ.pop("portal.identity", None)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def write_intent_tween_factory(handler, registry):
    def tween(request):
        token = write_intent.set(request.method not in SAFE_METHODS)
        try:
            return handler(request)
        finally:
            write_intent.reset(token)

    return tween
