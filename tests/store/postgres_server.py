"""A real PostgreSQL server for tests, started in a temp folder from the binaries in the ``pgserver`` wheel.

pgserver runs ``initdb`` and ``pg_ctl`` from its wheel (no system packages) and starts the server
listening on a Unix socket in the data folder only (``-h ""``: no TCP port at all). As root it runs
the server as a ``pgserver`` system user, since PostgreSQL refuses to run as root.

One server serves the whole test session (tests/store/conftest.py gives each test a schema of its
own in one database on it); tests that stop the server start one of their own.

The server's folder is a temp folder of its own, not one under pytest's ``tmp_path``: the server
runs as another user, who must be able to enter the folder, and every pytest session that starts
makes pytest's temp root private again (mode 700), which would cut a running server off its files.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from pathlib import Path

import asyncpg


def _pgserver():
    with warnings.catch_warnings():  # platformdirs warns on import when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


class PostgresServer:
    """One PostgreSQL server in a new temp folder; ``stop()`` and ``start()`` for the tests that take it away."""

    def __init__(self) -> None:
        pgserver = _pgserver()
        self.folder = Path(tempfile.mkdtemp(prefix="kb-bot-postgres-"))
        started = time.perf_counter()
        self._server = pgserver.get_server(self.folder / "pgdata", cleanup_mode="delete")
        self.start_seconds = time.perf_counter() - started
        info = self._server.get_postmaster_info()
        self.socket_dir = info.socket_dir
        self.port = info.port
        if self.socket_dir is None:
            raise RuntimeError("pgserver started PostgreSQL without a Unix socket")
        # A throwaway server need not survive a power cut: without fsync the PostgreSQL half of the
        # store tests runs in about 6.3 s instead of 7.5 (measured, 82 tests).
        self._server.psql("ALTER SYSTEM SET fsync = off; SELECT pg_reload_conf();")

    def dsn(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    async def admin(self, database: str = "postgres") -> asyncpg.Connection:
        """A superuser connection (to the maintenance database unless told otherwise)."""
        return await asyncpg.connect(self.dsn(database))

    def create_database(self, name: str) -> str:
        """Make a database now, from synchronous code (psql)."""
        self._server.psql(f'CREATE DATABASE "{name}";')
        return name

    def stop(self) -> None:
        """Shut the server down now (``-m fast``: sessions are ended, as when a server is restarted)."""
        pgserver = _pgserver()
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata, user=self._server.system_user)

    def start(self) -> None:
        self._server.ensure_postgres_running()
        info = self._server.get_postmaster_info()
        self.socket_dir, self.port = info.socket_dir, info.port

    def cleanup(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self._server.cleanup()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
