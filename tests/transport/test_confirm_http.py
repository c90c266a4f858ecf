"""Confirmation over HTTP, per call, with the SDK's own client and its elicitation callback against the real server
process: on 2026-07-28 the user is asked through the input request of that very call; a 2025-11-25 client on the
stateless transport has no way back, so it is told to ask the user and send confirm_cost."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestParams, ElicitResult

from ..conftest import CANARY_KEY
from ..support.helpers import text_of
from ..support.http_server import Served, served

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
ARGUMENTS = {"model": "GEM-3.0", "prompt": "a red fox", "wait_seconds": 0}


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    """A loopback server whose every call is above the threshold: 1 image, above 0 images."""
    with served(QUICKROUTER_API_KEY=CANARY_KEY, AIGC_IMAGE_CONFIRM_ABOVE="0") as it:
        yield it


class User:
    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        action = self.answers.pop(0)
        return (
            ElicitResult(action="accept", content={"confirm": True})
            if action == "yes"
            else ElicitResult(action="decline")
        )


@asynccontextmanager
async def client(url: str, mode: str, user: User) -> AsyncGenerator[Client]:
    async with (
        httpx2.AsyncClient(timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, elicitation_callback=user) as connected,
    ):
        yield connected


async def test_on_2026_07_28_each_http_call_asks_the_user_itself(server: Served) -> None:
    before = len(server.relay.submits)
    user = User(["yes", "no"])
    async with client(server.server.mcp_url, "2026-07-28", user) as session:
        yes = await session.call_tool("generate_image", ARGUMENTS)
        no = await session.call_tool("generate_image", ARGUMENTS)

    assert not yes.is_error, text_of(yes)
    assert no.is_error
    assert "The user declined" in text_of(no)
    assert len(user.asked) == 2
    assert "GEM-3.0" in user.asked[0]
    assert len(server.relay.submits) == before + 1


async def test_a_2025_11_25_client_over_stateless_http_is_told_to_send_confirm_cost(server: Served) -> None:
    before = len(server.relay.submits)
    user = User([])
    async with client(server.server.mcp_url, "legacy", user) as session:
        refused = await session.call_tool("generate_image", ARGUMENTS)
        confirmed = await session.call_tool("generate_image", ARGUMENTS | {"confirm_cost": True})

    assert refused.is_error
    assert '"confirm_cost": true' in text_of(refused)
    assert user.asked == []
    assert not confirmed.is_error, text_of(confirmed)
    assert len(server.relay.submits) == before + 1
