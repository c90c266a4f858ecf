"""The HTTP server as a user runs it: a subprocess on 127.0.0.1, on a free port, with only the environment given."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from .fake_relay import FakeRelay, serve

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
INITIALIZE = {  # a raw initialize request, for tests that speak HTTP without a client
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
_RUNNING = re.compile(r"Uvicorn running on http://[^\s]+:(\d+)")


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any of our settings, plus `values`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("QUICKROUTER_", "AIGC_IMAGE_"))}
    return {**kept, "AIGC_IMAGE_LOG_LEVEL": "INFO", **values}


@dataclass
class Log:
    """The server's stderr, collected by a thread; events mark the lines tests wait for."""

    workers: int = 1
    lines: list[str] = field(default_factory=lambda: [])
    port: int | None = None
    started: int = 0
    ready: threading.Event = field(default_factory=threading.Event)
    draining: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def follow(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
            if (match := _RUNNING.search(line)) is not None:
                self.port = int(match.group(1))
            self.started += "Application startup complete" in line
            if self.port is not None and self.started >= self.workers:
                self.ready.set()
            if "Shutting down" in line:
                self.draining.set()
        self.ready.set()  # the process ended: stop waiting

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def wait_for(self, text: str, count: int = 1) -> bool:
        """Whether `text` shows up in `count` lines before START_TIMEOUT."""
        with self.changed:
            return self.changed.wait_for(lambda: self.count(text) >= count, START_TIMEOUT)


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    log: Log
    url: str

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    def stop(self) -> int:
        """SIGTERM, as a process manager stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=START_TIMEOUT)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "aigc_image_mcp", "--transport", "http", "--port", "0", *args]


@contextmanager
def http_server(
    env: dict[str, str], *args: str, cmd: list[str] | None = None, workers: int = 1
) -> Generator[RunningServer]:
    """Start the server (or `cmd`), wait until uvicorn listens and every worker has started, stop it afterwards.
    Its history and images go to a temporary folder unless `env` names folders: never the real home's."""
    with tempfile.TemporaryDirectory(prefix="aigc-image-http-") as folder:
        own = {"AIGC_IMAGE_DATA_DIR": f"{folder}/data", "AIGC_IMAGE_OUTPUT_DIR": f"{folder}/images"}
        with _started({**own, **env}, cmd or command(*args), workers) as server:
            yield server


@contextmanager
def _started(env: dict[str, str], cmd: list[str], workers: int) -> Generator[RunningServer]:
    process = subprocess.Popen(
        cmd,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = Log(workers)
    reader = threading.Thread(target=log.follow, args=(process,), daemon=True)
    reader.start()
    try:
        if not log.ready.wait(START_TIMEOUT) or log.port is None:
            raise AssertionError(f"the server did not start:\n{log.text}")
        yield RunningServer(process, log, f"http://127.0.0.1:{log.port}")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=START_TIMEOUT)
        if process.stderr is not None:
            process.stderr.close()


@dataclass
class Served:
    """A running server and the fake relay behind it."""

    server: RunningServer
    relay: FakeRelay


@contextmanager
def served(**env: str) -> Generator[Served]:
    """The server with `env`, its relay a FakeRelay over real HTTP."""
    relay = FakeRelay()
    with serve(relay) as url, http_server(clean_env(QUICKROUTER_BASE_URL=url, **env)) as server:
        yield Served(server, relay)


@asynccontextmanager
async def mcp_client(url: str, token: str | None = None, *, mode: str = "legacy") -> AsyncGenerator[Client]:
    """The SDK's own client over streamable HTTP, sending `token` as the bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client
