"""A real PostgreSQL server for the tests, started by the test run itself on 127.0.0.1 and stopped after it.

It comes from the machine's PostgreSQL binaries (Debian's `postgresql` package: `.ci/run` installs it). PostgreSQL
refuses to run as root, so under root the server runs as the `postgres` user, in a temporary folder it owns. Each
test gets a schema of its own (search_path in the URL), so tests never see each other's tables.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Generator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

_READY_WITHIN = 60.0


def binaries() -> Path | None:
    """The folder of initdb and postgres: on PATH, else Debian's newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    return versions[-1].parent if versions else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def postgres_server(bin_dir: Path, *, durable: bool = False) -> Generator[str]:
    """A fresh cluster (trust authentication, on loopback only): its base URL. Not `durable`, it skips fsync: the
    tests throw it away; a benchmark of writes wants it durable, as a deployment is."""
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="aigc-image-pg-"))
    try:
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        data = folder / "data"
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "aigc", "--auth=trust", "--no-sync", "-E", "UTF8"]
        subprocess.run([*initdb, "--no-locale"], check=True, capture_output=True, user=user, cwd=folder)
        port = free_port()
        options = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=300"]
        if not durable:
            options += ["-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"]
        with (folder / "server.log").open("wb") as log:
            server = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), *options],
                stdout=log,
                stderr=subprocess.STDOUT,
                user=user,
                cwd=folder,
            )
        url = f"postgresql://aigc@127.0.0.1:{port}/postgres"
        try:
            _wait_until_ready(url, server, folder / "server.log")
            yield url
        finally:
            server.terminate()
            with suppress(subprocess.TimeoutExpired):
                server.wait(timeout=30)
            if server.poll() is None:
                server.kill()
                server.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _READY_WITHIN
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"PostgreSQL stopped at start:\n{log.read_text(errors='replace')}")
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # the server is starting: nothing to wait on but its port


def fresh_schema(base_url: str, name: str) -> str:
    """A new, empty schema in the server: the URL of a database whose tables go there."""
    with psycopg.connect(base_url, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(name)))
        db.execute(sql.SQL("CREATE SCHEMA {0}").format(sql.Identifier(name)))
    return f"{base_url}?options={quote(f'-csearch_path={name}')}"
