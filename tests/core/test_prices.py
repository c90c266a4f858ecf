"""AIGC_IMAGE_PRICES: a price per image from the operator's file, refused at start when it is wrong (naming the file
and the entry), and the cost every result carries: images always, money only with prices."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from aigc_image_mcp.__main__ import main
from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.request import OutputConfig, SubmitRequest
from aigc_image_mcp.core.prices import load_prices, quote
from aigc_image_mcp.errors import ConfigError

from ..conftest import Connect
from ..support.fake_relay import FakeRelay, accepted, rejected, running
from ..support.helpers import TASK, structured, text_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PRICES = {"currency": "CNY", "models": {"GEM-3.0": {"4K": 1.6, "default": 0.9}, "GEM-2.5": 0.3}}


def prices_file(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "entry", "problem"),
    [
        ("{not json", "", "is not valid JSON"),
        ({"currency": "CNY", "models": {"GEM-9": 1}}, "models.GEM-9", "is not a model of this backend"),
        ({"currency": "CNY", "models": {"GEM-3.0": -0.5}}, "models.GEM-3.0", "is negative"),
        ({"currency": "CNY", "models": {"GEM-3.0": {"4K": -1, "default": 1}}}, "models.GEM-3.0.4K", "is negative"),
        ({"currency": "CNY", "models": {"GEM-3.0": {"9K": 1, "default": 1}}}, "models.GEM-3.0.9K", "not a resolution"),
        ({"currency": "CNY", "models": {"GEM-3.0": {"4K": 1}}}, "models.GEM-3.0", 'needs a "default" price'),
        ({"currency": "CNY", "models": {"GEM-3.0": "0.5"}}, "models.GEM-3.0", "must be a number"),
        ({"currency": "CNY", "models": {"GEM-3.0": True}}, "models.GEM-3.0", "must be a number"),
        ({"models": {"GEM-3.0": 1}}, "currency", "must be a currency code"),
        ({"currency": "CNY", "models": {}}, "models", "at least one model"),
        ({"currency": "CNY", "models": {"GEM-3.0": 1}, "price": 2}, "price", "is not a key of a prices file"),
        ([1, 2], "top level", "must be an object"),
    ],
)
def test_a_wrong_prices_file_is_refused_naming_the_file_and_the_entry(
    tmp_path: Path, content: Any, entry: str, problem: str
) -> None:
    path = prices_file(tmp_path, content)

    with pytest.raises(ConfigError) as raised:
        load_prices(path, PROFILES["quickrouter"].load_catalog())

    assert str(raised.value).startswith(f"AIGC_IMAGE_PRICES: {path}")
    assert f": {entry}: " in str(raised.value) or not entry
    assert problem in str(raised.value)


def test_a_missing_prices_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"AIGC_IMAGE_PRICES: cannot read .*absent\.json"):
        load_prices(tmp_path / "absent.json", PROFILES["quickrouter"].load_catalog())


@pytest.mark.parametrize(("backend", "other"), [("quickrouter", "tencentcloud"), ("tencentcloud", "quickrouter")])
def test_each_example_prices_every_model_of_its_backend_and_is_refused_by_the_other(backend: str, other: str) -> None:
    catalog = PROFILES[backend].load_catalog()
    prices = load_prices(EXAMPLES / f"prices-{backend}.json", catalog)

    assert set(prices.models) == set(catalog.ids)
    with pytest.raises(ConfigError, match="is not a model of this backend"):
        load_prices(EXAMPLES / f"prices-{backend}.json", PROFILES[other].load_catalog())


def test_the_server_stops_at_start_on_a_wrong_prices_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = prices_file(tmp_path, {"currency": "CNY", "models": {"GEM-3.0": -1}})
    monkeypatch.setenv("QUICKROUTER_API_KEY", "sk-test-0123456789")
    monkeypatch.setenv("AIGC_IMAGE_PRICES", str(path))
    monkeypatch.setenv("AIGC_IMAGE_DATA_DIR", str(tmp_path / "data"))

    with pytest.raises(SystemExit) as stopped:
        main([])

    assert f"AIGC_IMAGE_PRICES: {path}: models.GEM-3.0: is negative" in str(stopped.value.code)


def test_the_price_depends_on_the_resolution_and_the_images_requested(tmp_path: Path) -> None:
    catalog = PROFILES["tencentcloud"].load_catalog()
    prices = load_prices(EXAMPLES / "prices-tencentcloud.json", catalog)
    four = SubmitRequest(
        model_name="OG",
        model_version="x",
        prompt="p",
        output_config=OutputConfig(resolution="2K", output_image_count=4),
    )

    cost = quote(prices, "OG-image2_high", four)
    assert (cost.images, cost.amount, cost.currency) == (4, 9.6, "CNY")
    assert cost.line() == "4 images, about 9.60 CNY"
    assert cost.settled(2).line() == "2 images, about 4.80 CNY", "Tencent bills the images it delivers"
    assert quote(prices, "OG-image2_high").amount == 1.2, "no resolution asked: the default price"
    assert quote(None, "OG-image2_high", four).line() == "4 images"
    assert prices.label("OG-image2_high") == "1.2-4.8 CNY"
    assert prices.label("GG-2.5") == "0.3 CNY"


pytestmark = pytest.mark.anyio


async def call(connect: Connect, arguments: dict[str, Any], **settings: Any) -> Any:
    async with connect(**settings) as client:
        return await client.call_tool("generate_image", {"prompt": "a red fox", **arguments})


async def test_with_prices_a_result_says_what_it_costs(connect: Connect, relay: FakeRelay, tmp_path: Path) -> None:
    result = await call(connect, {"model": "GEM-3.0", "resolution": "4K"}, prices=prices_file(tmp_path, PRICES))

    assert not result.is_error, text_of(result)
    assert structured(result)["cost"] == {"images": 1, "amount": 1.6, "currency": "CNY"}
    assert "Cost: 1 image, about 1.60 CNY." in text_of(result)


async def test_without_prices_nothing_mentions_money(connect: Connect, relay: FakeRelay) -> None:
    async with connect() as client:
        result = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "a red fox"})
        tools = (await client.list_tools()).tools

    assert structured(result)["cost"] == {"images": 1, "amount": None, "currency": None}
    assert "Cost: 1 image." in text_of(result)
    described = next(tool for tool in tools if tool.name == "generate_image").description or ""
    assert "price" not in described
    assert "CNY" not in described


async def test_the_description_shows_each_priced_models_price(connect: Connect, tmp_path: Path) -> None:
    async with connect(prices=prices_file(tmp_path, PRICES)) as client:
        tools = (await client.list_tools()).tools

    described = next(tool for tool in tools if tool.name == "generate_image").description or ""
    lines = {line.split(" ")[1]: line for line in described.splitlines() if line.startswith("- ")}
    assert lines["GEM-3.0"].endswith("; 0.9-1.6 CNY.")
    assert lines["GEM-2.5"].endswith("; 0.3 CNY.")
    assert "CNY" not in lines["Qwen-0925"]
    assert "price per image: the operator's estimate" in described


async def test_a_running_task_costs_what_it_requested_and_a_failed_one_nothing(
    connect: Connect, relay: FakeRelay, tmp_path: Path
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([running(TASK), rejected(TASK)])
    path = prices_file(tmp_path, PRICES)
    async with connect(prices=path) as client:
        first = await client.call_tool("generate_image", {"model": "GEM-2.5", "prompt": "p", "wait_seconds": 0})
        still = await client.call_tool("get_image_task", {"task_id": TASK, "wait_seconds": 0})
        failed = await client.call_tool("get_image_task", {"task_id": TASK, "wait_seconds": 0})
        failed_again = await client.call_tool("get_image_task", {"task_id": TASK, "wait_seconds": 0})

    assert structured(first)["cost"] == {"images": 1, "amount": 0.3, "currency": "CNY"}
    assert structured(still)["status"] == "RUNNING"
    assert structured(still)["cost"] == structured(first)["cost"], "while it runs: the images requested"
    assert structured(failed)["status"] == "FAILED"
    assert structured(failed)["cost"] == {"images": 0, "amount": 0.0, "currency": "CNY"}
    assert "Cost: 0 images, about 0.00 CNY." in text_of(failed)
    assert structured(failed_again)["cost"] == structured(failed)["cost"], "kept in the history"
