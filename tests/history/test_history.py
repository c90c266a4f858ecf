"""get_image_task and list_image_tasks: a task is followed up for free, from the history when it is finished,
and each API key sees only its own tasks. The key itself is never stored."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.types import CallToolResult, ImageContent
from pydantic import SecretStr

from aigc_image_mcp.backends.base import Caller
from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.backends.quickrouter import QuickRouter
from aigc_image_mcp.callers import fingerprint
from aigc_image_mcp.catalog.validation import parse_arguments
from aigc_image_mcp.core.delivery import Keeper
from aigc_image_mcp.core.prices import quote
from aigc_image_mcp.core.quota import Quota
from aigc_image_mcp.core.tracker import Tracker
from aigc_image_mcp.history.opener import open_history

from ..conftest import CANARY_KEY, Connect, FakeClock, make_settings, saved_as
from ..support.fake_relay import FakeRelay, accepted, running, task_detail
from ..support.helpers import TASK, text_of
from ..support.stores import execute

pytestmark = pytest.mark.anyio


@pytest.fixture
def history_store(both_stores: dict[str, Any]) -> dict[str, Any]:
    """Every test here runs on the SQLite file and on PostgreSQL."""
    return both_stores


def content(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, text_of(result)
    return result.structured_content


@pytest.mark.slow
async def test_a_task_left_running_is_finished_by_get_image_task_without_a_second_submit(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([running(TASK, 20), task_detail(TASK, urls=("https://relay.test/files/f.png",))])

    async with connect() as client:
        first = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "fox", "wait_seconds": 0})
        second = await client.call_tool("get_image_task", {"task_id": TASK})

    assert content(first)["status"] == "SUBMITTED"
    assert content(second)["status"] == "SUCCEEDED"
    assert content(second)["model"] == "GEM-3.0"
    assert content(second)["images"][0]["local_path"] == str(saved_as(folders["output_dir"], TASK, ".png"))
    assert len(relay.submits) == 1


async def test_a_finished_task_is_answered_from_the_history_with_its_preview_and_no_query(
    connect: Connect, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    async with connect() as client:
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "fox"})
        asked = len(relay.requests)
        again = await client.call_tool("get_image_task", {"task_id": TASK, "wait_seconds": 0})

    assert content(again)["status"] == "SUCCEEDED"
    assert len(relay.requests) == asked, "neither a query nor a download"
    assert [block.mime_type for block in again.content if isinstance(block, ImageContent)] == ["image/jpeg"]


async def test_a_local_copy_deleted_since_is_downloaded_again_from_the_stored_url(
    connect: Connect, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    async with connect() as client:
        first = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "fox"})
        saved = anyio.Path(content(first)["images"][0]["local_path"])
        await saved.unlink()
        relay.queries[TASK] = deque([httpx2.Response(500)])  # past the 3 days Tencent answers queries for
        again = await client.call_tool("get_image_task", {"task_id": TASK})

    assert content(again)["images"][0]["local_path"] == str(saved)
    assert await saved.exists()
    assert relay.queried == [TASK], "the URL was still good: no query was needed"


async def test_a_task_this_server_never_saw_is_fetched_and_then_listed(connect: Connect, relay: FakeRelay) -> None:
    async with connect() as client:
        result = await client.call_tool("get_image_task", {"task_id": "251007502-AigcImageTask-abc"})
        listing = await client.call_tool("list_image_tasks", {})

    assert (content(result)["model"], content(result)["status"]) == ("GEM-3.0", "SUCCEEDED")
    (entry,) = content(listing)["tasks"]
    assert (entry["task_id"], entry["prompt"]) == ("251007502-AigcImageTask-abc", "a red fox in snow")


async def test_a_task_tencent_does_not_know_is_a_tool_error_saying_why(connect: Connect, relay: FakeRelay) -> None:
    relay.queries["1-AigcImageTask-0"] = deque(
        [httpx2.Response(200, json={"Response": {"Error": {"Code": "InvalidParameterValue.TaskId", "Message": "?"}}})]
    )

    async with connect() as client:
        result = await client.call_tool("get_image_task", {"task_id": "1-AigcImageTask-0"})

    assert result.is_error
    assert "does not know task 1-AigcImageTask-0" in text_of(result)
    assert "more than 3 days old" in text_of(result)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "task_id: required"),
        ({"task_id": "../../etc/passwd"}, 'task_id: "../../etc/passwd" is not a TaskId'),
        ({"task_id": TASK, "wait_seconds": 60}, "wait_seconds: 60 is out of range; use 0 to 55"),
        ({"task_id": TASK, "model": "GEM-3.0"}, "model: unknown argument; the arguments are task_id, wait_seconds"),
    ],
)
async def test_get_image_task_refuses_bad_arguments_before_asking_anyone(
    connect: Connect, relay: FakeRelay, arguments: dict[str, Any], expected: str
) -> None:
    async with connect() as client:
        result = await client.call_tool("get_image_task", arguments)

    assert result.is_error
    assert expected in text_of(result)
    assert relay.requests == []


async def test_the_list_is_newest_first_and_limited(connect: Connect, relay: FakeRelay) -> None:
    async with connect() as client:
        for number in range(3):
            relay.script.append(accepted(f"1-AigcImageTask-{number}"))
            await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": f"p{number}", "wait_seconds": 0})
        listing = await client.call_tool("list_image_tasks", {"limit": 2})
        refused = await client.call_tool("list_image_tasks", {"limit": 0})

    assert [t["task_id"] for t in content(listing)["tasks"]] == ["1-AigcImageTask-2", "1-AigcImageTask-1"]
    assert "1-AigcImageTask-2 | GEM-3.0 | SUBMITTED" in text_of(listing)
    assert refused.is_error
    assert "limit: 0 is out of range; use 1 to 50" in text_of(refused)


async def test_each_api_key_sees_only_its_own_tasks(connect: Connect, relay: FakeRelay) -> None:
    relay.script.append(accepted(TASK))
    async with connect() as client:
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "fox", "wait_seconds": 0})
    relay.queries[TASK] = deque([httpx2.Response(401, json={"message": "not your task"})])

    async with connect(api_key="sk-another-key-0000") as other:
        listing = await other.call_tool("list_image_tasks", {})
        peek = await other.call_tool("get_image_task", {"task_id": TASK})

    assert content(listing)["tasks"] == []
    assert "No tasks of yours yet." in text_of(listing)
    assert peek.is_error, "another key's history is not consulted; the relay decides"
    assert relay.requests[-1].headers["authorization"] == "Bearer sk-another-key-0000"


async def test_the_history_holds_a_fingerprint_of_the_key_never_the_key(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], history_store: dict[str, Any]
) -> None:
    relay.script.append(accepted(TASK))
    async with connect() as client:
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "fox"})

    rows = execute(history_store, folders["data_dir"], "SELECT * FROM tasks")
    assert {row[1] for row in rows} == {fingerprint(SecretStr(CANARY_KEY))}
    assert CANARY_KEY not in repr(rows)
    if not history_store:
        stored = b"".join(path.read_bytes() for path in folders["data_dir"].iterdir())
        assert CANARY_KEY.encode() not in stored
    assert fingerprint(SecretStr(CANARY_KEY)) != fingerprint(SecretStr(CANARY_KEY + "x"))


async def test_a_cancellation_during_the_submit_waits_for_the_task_id_and_records_it(
    relay: FakeRelay, clock: FakeClock, folders: dict[str, Path], history_store: dict[str, Any]
) -> None:
    """The client gives up while the POST is on the wire: the task may be billed, so its TaskId is still kept."""
    posted, release = anyio.Event(), anyio.Event()

    class Slow(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            posted.set()
            await release.wait()
            return accepted(TASK)

    settings = make_settings(**folders, **history_store)
    catalog = PROFILES["quickrouter"].load_catalog()
    spec, request = parse_arguments({"model": "GEM-3.0", "prompt": "fox"}, catalog)
    async with httpx2.AsyncClient(base_url=settings.base_url, transport=Slow()) as http:
        history = open_history(settings)
        quota = Quota(history, settings.daily_task_limit)
        backend = QuickRouter(settings, http)
        keeper = Keeper(settings, http)
        tracker = Tracker(settings, catalog, backend=backend, history=history, quota=quota, keeper=keeper, clock=clock)
        caller = Caller(SecretStr(CANARY_KEY), fingerprint(SecretStr(CANARY_KEY)), remote=False)
        async with anyio.create_task_group() as group:
            group.start_soon(tracker.submit, spec, request, caller, quote(None, spec.id, request))
            await posted.wait()
            group.cancel_scope.cancel()
            release.set()
        listing = await tracker.recent(caller, 10)
        await history.aclose()

    assert [(entry.task_id, entry.status) for entry in listing.tasks] == [(TASK, "SUBMITTED")]


async def test_the_list_can_show_only_one_status(connect: Connect, relay: FakeRelay) -> None:
    relay.queries["1-AigcImageTask-done"] = deque([task_detail("1-AigcImageTask-done", urls=())])
    async with connect() as client:
        for task_id, wait in (("1-AigcImageTask-done", 5), ("1-AigcImageTask-queued", 0)):
            relay.script.append(accepted(task_id))
            await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "p", "wait_seconds": wait})
        failed = await client.call_tool("list_image_tasks", {"status": "FAILED"})
        submitted = await client.call_tool("list_image_tasks", {"status": "SUBMITTED"})
        refused = await client.call_tool("list_image_tasks", {"status": "done"})

    assert [t["task_id"] for t in content(failed)["tasks"]] == ["1-AigcImageTask-done"]
    assert [t["task_id"] for t in content(submitted)["tasks"]] == ["1-AigcImageTask-queued"]
    assert 'status: "done" is not accepted; use one of SUBMITTED, RUNNING, SUCCEEDED, FAILED' in text_of(refused)


async def test_a_record_this_version_cannot_read_is_left_out_of_the_list_with_a_note(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], history_store: dict[str, Any]
) -> None:
    async with connect() as client:
        for number in range(2):
            relay.script.append(accepted(f"1-AigcImageTask-{number}"))
            await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": f"p{number}", "wait_seconds": 0})
        execute(history_store, folders["data_dir"], "UPDATE tasks SET result = '{\"broken' WHERE task_id LIKE '%-0'")
        listing = await client.call_tool("list_image_tasks", {})

    assert not listing.is_error, text_of(listing)
    assert [t["task_id"] for t in content(listing)["tasks"]] == ["1-AigcImageTask-1"]
    (note,) = content(listing)["notes"]
    assert "1 record of the task history" in note
    assert f"Note: {note}" in text_of(listing)
