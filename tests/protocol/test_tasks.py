"""MCP Tasks (io.modelcontextprotocol/tasks) for generate_image, in memory with raw 2026-07-28 requests: a client that
declares the extension gets a task at once and polls tasks/get; one that does not sees no change."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.extension import ClientExtension

from aigc_image_mcp.protocol import tasks
from aigc_image_mcp.server import build_server

from ..conftest import FakeClock, make_settings
from ..support.fake_relay import FakeRelay, accepted, rejected, running
from ..support.raw_rpc import TASKS, Raw, in_memory

pytestmark = pytest.mark.anyio

TASK = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
ARGUMENTS: dict[str, Any] = {"model": "GEM-3.0", "prompt": "a red fox in snow"}
GENERATE: dict[str, Any] = {"name": "generate_image", "arguments": ARGUMENTS}
THREE_DAYS_MS = 3 * 24 * 3600 * 1000
Open = Callable[[], AbstractAsyncContextManager[Raw]]


@pytest.fixture
def open_raw(relay: FakeRelay, clock: FakeClock, folders: dict[str, Path]) -> Open:
    """`async with open_raw() as call`: raw requests to a fresh server (same folders: a restart)."""

    @asynccontextmanager
    async def _open() -> AsyncGenerator[Raw]:
        server = build_server(make_settings(**folders), transport=relay.transport(), clock=clock)
        async with in_memory(server) as call:
            yield call

    return _open


async def test_a_client_declaring_tasks_gets_the_task_at_once_with_tencents_task_id(
    open_raw: Open, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))

    async with open_raw() as call:
        answer = await call("tools/call", GENERATE, TASKS)

    created = answer["result"]
    assert created["resultType"] == "task"
    assert created["taskId"] == TASK
    assert created["status"] == "working"
    assert created["ttlMs"] == THREE_DAYS_MS
    assert created["pollIntervalMs"] == 1000
    assert created["createdAt"].endswith("Z")
    assert created["lastUpdatedAt"] == created["createdAt"]
    assert TASK in created["statusMessage"]
    assert relay.queried == []  # nothing waited for


async def test_a_task_the_history_could_not_keep_says_so_with_its_task_id(
    relay: FakeRelay, clock: FakeClock, folders: dict[str, Path]
) -> None:
    relay.script.append(accepted(TASK))
    folders["data_dir"].mkdir(parents=True, exist_ok=True)
    (folders["data_dir"] / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    server = build_server(make_settings(**folders), transport=relay.transport(), clock=clock)

    async with in_memory(server) as call:
        answer = await call("tools/call", GENERATE, TASKS)

    created = answer["result"]
    assert created["taskId"] == TASK
    assert "could not be written to the history, so keep its TaskId" in created["statusMessage"]


async def test_tasks_get_reports_tencents_progress_then_the_very_result_generate_image_gives(
    open_raw: Open, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([running(TASK, 30), running(TASK, 60)])

    async with open_raw() as call:
        await call("tools/call", GENERATE, TASKS)
        first = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]
        second = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]
        del relay.queries[TASK]  # now it has finished
        done = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]
        plain = (await call("tools/call", {"name": "get_image_task", "arguments": {"task_id": TASK}}))["result"]

    assert (first["resultType"], first["status"], first["taskId"]) == ("complete", "working", TASK)
    assert "30% done" in first["statusMessage"]
    assert "60% done" in second["statusMessage"]
    assert first["pollIntervalMs"] == 1000
    assert second["pollIntervalMs"] >= 1000
    assert done["status"] == "completed"
    assert done["result"]["structuredContent"]["status"] == "SUCCEEDED"
    assert [block["type"] for block in done["result"]["content"]] == ["text", "image"]
    assert _without_volatile(done["result"]) == _without_volatile(plain)


async def test_a_task_whose_pace_was_forgotten_starts_its_poll_schedule_again_at_one_second(
    open_raw: Open, relay: FakeRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "PACES_KEPT", 1)  # a process remembers the pace of so many tasks, not of every one
    other = "1392336703-AigcImageTask-00000000000000000000000000000000t"
    relay.script.extend([accepted(TASK), accepted(other)])
    relay.queries[TASK] = deque([running(TASK, 30)])
    relay.queries[other] = deque([running(other, 30)])

    async with open_raw() as call:
        await call("tools/call", GENERATE, TASKS)
        await call("tools/call", GENERATE, TASKS)

        async def poll(task_id: str) -> int:
            return (await call("tasks/get", {"taskId": task_id}, TASKS))["result"]["pollIntervalMs"]

        paced = [await poll(TASK), await poll(TASK)]
        await poll(other)  # the newest polled: the first task's pace is forgotten
        again = await poll(TASK)

    assert paced == [1000, 1500]
    assert again == 1000


async def test_a_task_has_one_created_at_in_its_create_result_and_every_tasks_get(
    open_raw: Open, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([running(TASK, 30)])

    async with open_raw() as call:
        created = (await call("tools/call", GENERATE, TASKS))["result"]
        working = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]
        del relay.queries[TASK]
        done = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]
    async with open_raw() as call:  # after a restart, from the history
        again = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]

    assert created["createdAt"] == working["createdAt"] == done["createdAt"] == again["createdAt"]
    assert datetime.fromisoformat(created["createdAt"]).tzinfo == UTC
    assert created["lastUpdatedAt"] <= working["lastUpdatedAt"]


async def test_a_task_tencent_refused_is_completed_with_the_tools_error_result_and_its_reason(
    open_raw: Open, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([rejected(TASK)])

    async with open_raw() as call:
        await call("tools/call", GENERATE, TASKS)
        failed = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]

    assert failed["status"] == "completed"  # SEP-2663: a tool error is completed with isError; failed is ours
    assert failed["statusMessage"] == "Tencent failed the task: InvalidParameter.VoilationContent: unsafe"
    assert failed["result"]["isError"] is True
    assert "content policy" in failed["result"]["content"][0]["text"]


async def test_tasks_survive_a_restart_because_they_live_in_the_history(open_raw: Open, relay: FakeRelay) -> None:
    relay.script.append(accepted(TASK))
    async with open_raw() as call:
        await call("tools/call", GENERATE, TASKS)

    async with open_raw() as call:
        done = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]

    assert done["status"] == "completed"
    assert done["result"]["structuredContent"]["task_id"] == TASK


async def test_cancel_stops_following_says_tencent_cannot_stop_it_and_the_task_stays_cancelled(
    open_raw: Open, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([running(TASK, 30)])

    async with open_raw() as call:
        await call("tools/call", GENERATE, TASKS)
        ack = (await call("tasks/cancel", {"taskId": TASK}, TASKS))["result"]
        queried = len(relay.queried)
        again = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]
        after_get = len(relay.queried)
        image = (await call("tools/call", {"name": "get_image_task", "arguments": {"task_id": TASK}}))["result"]

    assert {key: value for key, value in ack.items() if key != "_meta"} == {"resultType": "complete"}
    assert again["status"] == "cancelled"
    assert "no way to stop" in again["statusMessage"]
    assert "billed" in again["statusMessage"]
    assert queried == after_get == 0  # tasks/get after the cancel asked Tencent nothing; get_image_task still does
    assert image["structuredContent"]["status"] == "RUNNING"


async def test_an_unknown_task_id_is_invalid_params(open_raw: Open) -> None:
    async with open_raw() as call:
        answer = await call("tasks/get", {"taskId": "no-such-task"}, TASKS)
        cancel = await call("tasks/cancel", {"taskId": "no-such-task"}, TASKS)

    assert answer["error"]["code"] == -32602
    assert "Unknown task no-such-task" in answer["error"]["message"]
    assert cancel["error"]["code"] == -32602


async def test_cancelling_a_finished_task_is_acknowledged_and_leaves_it_completed(
    open_raw: Open, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    async with open_raw() as call:
        await call("tools/call", GENERATE, TASKS)
        await call("tasks/get", {"taskId": TASK}, TASKS)
        answer = await call("tasks/cancel", {"taskId": TASK}, TASKS)
        after = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]

    assert answer["result"]["resultType"] == "complete"
    assert after["status"] == "completed"


async def test_a_client_without_the_extension_sees_no_change(open_raw: Open, relay: FakeRelay) -> None:
    relay.script.append(accepted(TASK))

    async with open_raw() as call:
        answer = (await call("tools/call", GENERATE))["result"]

    assert answer["resultType"] == "complete"
    assert answer["structuredContent"]["status"] == "SUCCEEDED"
    assert "taskId" not in answer


class DeclaresTasks(ClientExtension):
    identifier = "io.modelcontextprotocol/tasks"


async def test_over_the_older_handshake_a_client_declaring_tasks_gets_the_ordinary_result(
    relay: FakeRelay, clock: FakeClock, folders: dict[str, Path]
) -> None:
    relay.script.append(accepted(TASK))
    server = build_server(make_settings(**folders), transport=relay.transport(), clock=clock)

    async with Client(server, mode="legacy", extensions=[DeclaresTasks()]) as client:
        result = await client.call_tool("generate_image", ARGUMENTS)  # a task result cannot travel this wire

    assert not result.is_error
    assert result.structured_content is not None
    assert (result.structured_content["task_id"], result.structured_content["status"]) == (TASK, "SUCCEEDED")


async def test_invalid_arguments_are_an_ordinary_tool_error_even_for_a_tasks_client(
    open_raw: Open, relay: FakeRelay
) -> None:
    async with open_raw() as call:
        answer = await call("tools/call", {"name": "generate_image", "arguments": {"model": "GEM-3.0"}}, TASKS)

    assert answer["result"]["isError"] is True
    assert "prompt" in answer["result"]["content"][0]["text"]
    assert relay.submits == []


async def test_server_discover_advertises_the_extension(open_raw: Open) -> None:
    async with open_raw() as call:
        answer = (await call("server/discover", {}))["result"]

    assert answer["capabilities"]["extensions"]["io.modelcontextprotocol/tasks"] == {}


def _without_volatile(result: dict[str, Any]) -> dict[str, Any]:
    """A CallToolResult without the per-response `_meta` stamp and the result envelope."""
    return {key: value for key, value in result.items() if key not in ("_meta", "resultType", "ttlMs", "cacheScope")}


async def test_a_call_with_save_as_waits_as_for_any_client_so_its_answer_can_say_where_the_file_went(
    open_raw: Open, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    relay.script.append(accepted(TASK))
    params = {"name": "generate_image", "arguments": ARGUMENTS | {"save_as": "hero.png"}}

    async with open_raw() as call:
        answer = (await call("tools/call", params, TASKS))["result"]

    assert answer["resultType"] == "complete"
    assert answer["structuredContent"]["images"][0]["saved_as"] == str(folders["output_dir"] / "hero.png")


@pytest.mark.parametrize("save_as", [None, ""])
async def test_a_call_with_save_as_null_or_empty_is_a_task_like_one_without_it(
    open_raw: Open, relay: FakeRelay, save_as: str | None
) -> None:
    relay.script.append(accepted(TASK))
    params = {"name": "generate_image", "arguments": ARGUMENTS | {"save_as": save_as, "overwrite": None}}

    async with open_raw() as call:
        answer = (await call("tools/call", params, TASKS))["result"]

    assert (answer["resultType"], answer["taskId"]) == ("task", TASK)
    assert relay.queried == []


async def test_a_fault_of_this_server_while_polling_is_failed_with_an_error_and_no_result(
    open_raw: Open, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([RuntimeError("a bug of ours")])

    async with open_raw() as call:
        await call("tools/call", GENERATE, TASKS)
        failed = (await call("tasks/get", {"taskId": TASK}, TASKS))["result"]

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == -32603
    assert "get_image_task" in failed["error"]["message"]
    assert "result" not in failed
