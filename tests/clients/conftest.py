from __future__ import annotations

from collections.abc import Generator

import pytest

from .servers import offline


@pytest.fixture(scope="module", autouse=True)
def _offline() -> Generator[None]:
    """Every client of the matrix, in this process or launched from it, runs with the network out of reach beyond
    loopback (see servers.OFFLINE), set before any module-scoped fixture starts a server or a client."""
    with offline():
        yield
