from __future__ import annotations

import itertools
import os
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.lowlevel
import httpx2
import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from aigc_image_mcp.config import Settings
from aigc_image_mcp.server import build_server

from .support.fake_relay import FakeRelay
from .support.postgres import binaries, fresh_schema, postgres_server

# Where uv keeps its cache for this user, before any test moves HOME (uv's default on Linux and macOS).
_UV_CACHE = os.environ.get("UV_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "uv"
)
CANARY_KEY = "sk-canary-7f3a9c1e5b2d4068"


# The server's folders in the developer's real home (images, history, config), read before any test moves HOME.
_REAL_HOME = Path(os.path.expanduser("~"))
_GUARDED = (
    Path(os.environ.get("XDG_DATA_HOME") or _REAL_HOME / ".local" / "share") / "aigc-image-mcp",
    Path(os.environ.get("XDG_CONFIG_HOME") or _REAL_HOME / ".config") / "aigc-image-mcp",
    _REAL_HOME / "Pictures" / "aigc-image-mcp",
)
_HOME_VARIABLES = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_PICTURES_DIR")


def _snapshot(folders: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    """Every path under `folders` with its mtime and size: creating, changing or removing anything there shows."""
    seen: dict[str, tuple[int, int]] = {}
    for folder in folders:
        for path in (folder, *folder.rglob("*")) if folder.exists() else ():
            stat = path.stat()
            seen[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return seen


@pytest.fixture(scope="session", autouse=True)
def _real_home_untouched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Before any fixture of any scope, HOME and the XDG folders point into the run's temp folder (module-scoped
    servers start before the per-test fixture below); afterwards the run fails if the real home's folders changed."""
    before = _snapshot(_GUARDED)
    home = tmp_path_factory.mktemp("session-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_CACHE_DIR", _UV_CACHE)
        patch.setenv("HOME", str(home))
        for variable in _HOME_VARIABLES:
            patch.delenv(variable, raising=False)
        yield
    after = _snapshot(_GUARDED)
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert not changed, f"the test run wrote into the real home: {changed}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the PostgreSQL store (a real server this run starts) is slow, whichever fixture brought it."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "postgres" in fixtures or ("both_stores" in fixtures and "postgresql" in item.name):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_settings(**values: Any) -> Settings:
    """Settings from explicit values only: the developer's environment never leaks into a test."""
    return Settings.model_validate({"api_key": CANARY_KEY, "base_url": "https://relay.test", **values})


def accepts(validator: Draft202012Validator, instance: dict[str, Any]) -> bool:
    """Whether the validator's schema accepts `instance`."""
    # jsonschema's stubs leave one overload of is_valid partly untyped.
    return validator.is_valid(instance)  # pyright: ignore[reportUnknownMemberType]


@pytest.fixture(autouse=True)
def _no_real_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default folders (platformdirs) resolve inside the test's own tmp_path, never the developer's home."""
    home = tmp_path / "home"
    # Tools the tests launch (uv, for the bundle and packaging tests) keep using the real cache.
    monkeypatch.setenv("UV_CACHE_DIR", _UV_CACHE)
    monkeypatch.setenv("HOME", str(home))
    for variable in _HOME_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


class FakeClock:
    """Time that passes only when the server sleeps; every pause is recorded."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def relay() -> FakeRelay:
    return FakeRelay()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def saved_as(folder: Path, task_id: str, extension: str, number: int = 1) -> Path:
    """Where the server saves image `number` of a task today: `<folder>/<date>_<TaskId>_<n><ext>`."""
    return folder / f"{datetime.now(UTC).date().isoformat()}_{task_id}_{number}{extension}"


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    """Where the server under test keeps its images and its history."""
    return {"output_dir": tmp_path / "images", "data_dir": tmp_path / "data"}


Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture(scope="session")
def postgres() -> Generator[str]:
    """A real PostgreSQL server for the whole run, on 127.0.0.1: its URL. Without PostgreSQL installed the tests
    that need it are skipped, except under CI=true, where they fail."""
    found = binaries()
    if found is None:
        missing = "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    with postgres_server(found) as url:
        yield url


_SCHEMAS = itertools.count()


@pytest.fixture
def postgres_url(postgres: str) -> str:
    """A database URL whose tables live in a schema of this test's own."""
    return fresh_schema(postgres, f"test_{next(_SCHEMAS)}")


@pytest.fixture
def history_store() -> dict[str, Any]:
    """The settings that choose the history store: none, the SQLite file. A module that overrides it with
    `both_stores` runs its tests once on each store."""
    return {}


@pytest.fixture(params=["sqlite", "postgresql"])
def both_stores(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each store in turn: the settings that choose it."""
    if request.param == "sqlite":
        return {}
    return {"database_url": request.getfixturevalue("postgres_url")}


@pytest.fixture
def connect(relay: FakeRelay, clock: FakeClock, folders: dict[str, Path], history_store: dict[str, Any]) -> Connect:
    """`async with connect(**settings) as client`: an in-memory MCP client on a server whose relay is `relay`,
    whose time is `clock`, whose folders are `folders`, and whose history is in `history_store`."""

    @asynccontextmanager
    async def _connect(*, transport: httpx2.AsyncBaseTransport | None = None, **values: Any) -> AsyncGenerator[Client]:
        settings = make_settings(**(folders | history_store | values))
        server = build_server(settings, transport=transport or relay.transport(), clock=clock)
        async with Client(server, mode="legacy") as client:
            yield client

    return _connect
