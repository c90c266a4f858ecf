"""Confirmation above AIGC_IMAGE_CONFIRM_ABOVE, through the SDK client's own elicitation callback on both protocol
revisions: the user's yes submits, a no or a dismissal submits nothing, a client that cannot be asked is told to ask
the user and call again with confirm_cost, and a call at or under the threshold never asks."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestFormParams, ElicitRequestParams, ElicitResult, ListRootsResult, Root
from pydantic import FileUrl

from aigc_image_mcp.server import build_server

from ..conftest import FakeClock, make_settings
from ..support.fake_relay import FakeRelay
from ..support.helpers import structured, text_of

pytestmark = pytest.mark.anyio

REVISIONS = ["legacy", "2026-07-28"]
PRICES = {"currency": "CNY", "models": {"GEM-3.0": {"4K": 1.6, "default": 0.9}, "GEM-2.5": 0.3}}
FOUR_K = {"model": "GEM-3.0", "prompt": "a red fox in snow", "resolution": "4K", "wait_seconds": 0}


class User:
    """The person behind the client's elicitation form: answers with `action` (and `confirm` when accepting)."""

    def __init__(self, action: str = "accept", confirm: bool = True) -> None:
        self.action = action
        self.confirm = confirm
        self.asked: list[ElicitRequestFormParams] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        self.asked.append(params)
        if self.action != "accept":
            return ElicitResult(action=self.action)  # pyright: ignore[reportArgumentType]
        return ElicitResult(action="accept", content={"confirm": self.confirm})


@pytest.fixture
def prices_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(PRICES), encoding="utf-8")
    return path


@asynccontextmanager
async def client(
    relay: FakeRelay, folders: dict[str, Path], mode: str, user: User | None, **values: Any
) -> AsyncGenerator[Client]:
    settings = make_settings(**(folders | values))
    server = build_server(settings, transport=relay.transport(), clock=FakeClock())
    async with Client(server, mode=mode, elicitation_callback=user) as connected:  # pyright: ignore[reportArgumentType]
        yield connected


@pytest.mark.parametrize("mode", REVISIONS)
async def test_above_the_threshold_the_user_is_asked_and_a_yes_submits(
    relay: FakeRelay, folders: dict[str, Path], prices_file: Path, mode: str
) -> None:
    user = User()
    async with client(relay, folders, mode, user, prices=prices_file, confirm_above=1) as session:
        result = await session.call_tool("generate_image", FOUR_K)

    assert not result.is_error, text_of(result)
    assert len(user.asked) == 1
    question = user.asked[0]
    assert "GEM-3.0" in question.message
    assert "1 image" in question.message
    assert "1.60 CNY" in question.message
    assert question.requested_schema["properties"]["confirm"]["type"] == "boolean"
    assert list(question.requested_schema["properties"]) == ["confirm"]
    assert len(relay.submits) == 1
    assert structured(result)["cost"] == {"images": 1, "amount": 1.6, "currency": "CNY"}


@pytest.mark.parametrize("mode", REVISIONS)
@pytest.mark.parametrize(
    ("action", "confirm", "said"),
    [("decline", True, "declined"), ("cancel", True, "did not"), ("accept", False, "did not")],
)
async def test_a_no_or_a_dismissal_submits_nothing(
    relay: FakeRelay, folders: dict[str, Path], prices_file: Path, mode: str, action: str, confirm: bool, said: str
) -> None:
    user = User(action, confirm)
    async with client(relay, folders, mode, user, prices=prices_file, confirm_above=1) as session:
        result = await session.call_tool("generate_image", FOUR_K)

    assert result.is_error
    assert f"The user {said}" in text_of(result)
    assert "Nothing was sent upstream and nothing was charged" in text_of(result)
    assert len(user.asked) == 1
    assert relay.requests == []


@pytest.mark.parametrize("mode", REVISIONS)
async def test_a_client_without_elicitation_is_told_to_ask_the_user_and_confirm_cost_then_goes_ahead(
    relay: FakeRelay, folders: dict[str, Path], prices_file: Path, mode: str
) -> None:
    async with client(relay, folders, mode, None, prices=prices_file, confirm_above=1) as session:
        refused = await session.call_tool("generate_image", FOUR_K)
        sent_after_refusal = len(relay.requests)
        confirmed = await session.call_tool("generate_image", FOUR_K | {"confirm_cost": True})

    assert refused.is_error
    assert "Ask the user" in text_of(refused)
    assert '"confirm_cost": true' in text_of(refused)
    assert "GEM-3.0" in text_of(refused)
    assert "1.60 CNY" in text_of(refused)
    assert sent_after_refusal == 0
    assert not confirmed.is_error, text_of(confirmed)
    assert len(relay.submits) == 1
    assert "confirm_cost" not in relay.submits[0]


@pytest.mark.parametrize("mode", REVISIONS)
async def test_at_or_under_the_threshold_nobody_is_asked(
    relay: FakeRelay, folders: dict[str, Path], prices_file: Path, mode: str
) -> None:
    user = User("decline")
    async with client(relay, folders, mode, user, prices=prices_file, confirm_above=0.9) as session:
        at = await session.call_tool("generate_image", FOUR_K | {"resolution": "2K"})  # 0.9: the default price
        under = await session.call_tool("generate_image", FOUR_K | {"model": "GEM-2.5", "resolution": "1K"})

    assert not at.is_error, text_of(at)
    assert not under.is_error, text_of(under)
    assert user.asked == []
    assert len(relay.submits) == 2


@pytest.mark.parametrize("mode", REVISIONS)
async def test_without_prices_the_threshold_counts_images(
    relay: FakeRelay, folders: dict[str, Path], mode: str
) -> None:
    user = User()
    async with client(relay, folders, mode, user, confirm_above=1) as session:
        one = await session.call_tool("generate_image", FOUR_K)
    async with client(relay, folders, mode, user, confirm_above=0) as session:
        above = await session.call_tool("generate_image", FOUR_K)

    assert not one.is_error, text_of(one)
    assert not above.is_error, text_of(above)
    assert len(user.asked) == 1, "1 image is not above 1, and is above 0"
    assert "1 image" in user.asked[0].message
    assert "CNY" not in user.asked[0].message
    assert "cost" not in text_of(above).lower().replace("cost: 1 image", "")


@pytest.mark.parametrize("mode", REVISIONS)
async def test_a_model_the_prices_leave_out_is_asked_about_its_cost_being_unknown(
    relay: FakeRelay, folders: dict[str, Path], prices_file: Path, mode: str
) -> None:
    user = User()
    async with client(relay, folders, mode, user, prices=prices_file, confirm_above=5) as session:
        result = await session.call_tool("generate_image", {"model": "Hunyuan-3.0", "prompt": "p", "wait_seconds": 0})

    assert not result.is_error, text_of(result)
    assert len(user.asked) == 1
    assert "not in this server's price list" in user.asked[0].message


async def test_on_2026_07_28_the_yes_holds_through_the_roots_round_that_follows_it(
    relay: FakeRelay, folders: dict[str, Path], prices_file: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    user = User()

    async def roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=FileUrl(project.as_uri()))])

    settings = make_settings(**folders, prices=prices_file, confirm_above=1)
    server = build_server(settings, transport=relay.transport(), clock=FakeClock())
    async with Client(server, mode="2026-07-28", elicitation_callback=user, list_roots_callback=roots) as session:
        result = await session.call_tool("generate_image", FOUR_K | {"save_as": "fox.png", "wait_seconds": 5})

    assert not result.is_error, text_of(result)
    assert len(user.asked) == 1, "asked once, not again in the round that asks for roots"
    assert len(relay.submits) == 1
    assert (project / "fox.png").exists()


async def test_the_confirm_cost_argument_tells_the_model_never_to_set_it_on_its_own(
    relay: FakeRelay, folders: dict[str, Path]
) -> None:
    async with client(relay, folders, "legacy", None) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}

    described = tools["generate_image"].input_schema["properties"]["confirm_cost"]
    assert described["type"] == "boolean"
    assert "user said yes" in described["description"]
    assert "never on your own" in described["description"]
