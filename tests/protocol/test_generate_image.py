"""generate_image through a real MCP client, with the relay faked at the HTTP layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.types import CallToolResult

from ..conftest import CANARY_KEY, Connect, saved_as
from ..support.fake_relay import FakeRelay, accepted, png
from ..support.helpers import text_of

pytestmark = pytest.mark.anyio


async def call(connect: Connect, arguments: dict[str, Any], **settings: Any) -> CallToolResult:
    async with connect(**settings) as client:
        return await client.call_tool("generate_image", arguments)


async def test_a_prompt_and_model_are_sent_as_the_seed_body_and_the_task_id_comes_back(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    relay.script.append(accepted("251007502-AigcImage-abc"))
    result = await call(connect, {"model": "GEM-3.0", "prompt": "a red fox in snow"})

    assert not result.is_error, text_of(result)
    assert relay.submits == [{"model_name": "GEM", "model_version": "3.0", "prompt": "a red fox in snow"}]
    request = relay.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://relay.test/tencent-vod/v1/aigc-image"
    assert request.headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert request.headers["content-type"] == "application/json"
    saved = saved_as(folders["output_dir"], "251007502-AigcImage-abc", ".png")
    assert result.structured_content == {
        "task_id": "251007502-AigcImage-abc",
        "request_id": "req-1",
        "model": "GEM-3.0",
        "status": "SUCCEEDED",
        "images": [
            {
                "url": "https://relay.test/files/251007502-AigcImage-abc.png",
                "expires_at": "2026-01-05T12:03:57Z",
                "local_path": str(saved),
                "mime_type": "image/png",
            }
        ],
        "notes": [],
        "cost": {"images": 1, "amount": None, "currency": None},
    }
    assert "251007502-AigcImage-abc" in text_of(result)
    assert saved.read_bytes() == png()


async def test_every_argument_lands_in_its_seed_field(connect: Connect, relay: FakeRelay) -> None:
    arguments = {
        "model": "GEM-2.5",
        "prompt": "convert this image to anime style",
        "negative_prompt": "blur, distorted",
        "enhance_prompt": "Enabled",
        "reference_images": ["387702299774574677", "https://example.com/1.png"],
        "reference_image_descriptions": ["the original picture"],
        "resolution": "1080P",
        "aspect_ratio": "1:1",
        "person_generation": "AllowAdult",
        "input_compliance_check": "Enabled",
        "output_compliance_check": "Disabled",
        "storage_mode": "Temporary",
        "session_id": "image-task-67890",
        "session_context": '{"user_id": "123"}',
        "tasks_priority": 10,
        "ext_info": "reserved",
    }
    result = await call(connect, arguments)

    assert not result.is_error, text_of(result)
    assert relay.submits == [
        {
            "model_name": "GEM",
            "model_version": "2.5",
            "prompt": "convert this image to anime style",
            "negative_prompt": "blur, distorted",
            "enhance_prompt": "Enabled",
            "file_infos": [
                {"type": "File", "file_id": "387702299774574677", "text": "the original picture"},
                {"type": "Url", "url": "https://example.com/1.png"},
            ],
            "output_config": {
                "storage_mode": "Temporary",
                "resolution": "1080P",
                "aspect_ratio": "1:1",
                "person_generation": "AllowAdult",
                "input_compliance_check": "Enabled",
                "output_compliance_check": "Disabled",
            },
            "session_id": "image-task-67890",
            "session_context": '{"user_id": "123"}',
            "tasks_priority": 10,
            "ext_info": "reserved",
        }
    ]


async def test_reference_images_sent_as_a_json_string_are_decoded(connect: Connect, relay: FakeRelay) -> None:
    result = await call(
        connect,
        {"model": "Qwen-0925", "prompt": "same cat, in watercolour", "reference_images": '["https://x.test/c.webp"]'},
    )

    assert not result.is_error, text_of(result)
    assert relay.submits[0]["file_infos"] == [{"type": "Url", "url": "https://x.test/c.webp"}]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"model": "Qwen-0925", "prompt": "p", "aspect_ratio": "16:9"},
            "aspect_ratio: not accepted by Qwen-0925; leave it out",
        ),
        (
            {"model": "GEM-3.0", "prompt": "p", "aspect_ratio": "7:3"},
            'aspect_ratio: "7:3" is not accepted by GEM-3.0; use one of 1:1, 3:2, 2:3, 3:4, 4:3, 4:5, 5:4, 9:16, '
            "16:9, 21:9",
        ),
        (
            {"model": "Hunyuan-3.0", "prompt": "p", "resolution": "1K"},
            'resolution: "1K" is not accepted by Hunyuan-3.0; use one of 720P, 1080P',
        ),
        (
            {"model": "GEM-2.5", "prompt": "p", "reference_images": ["1", "2", "3", "4"]},
            "reference_images: 4 given, GEM-2.5 takes at most 3",
        ),
        (
            {"model": "Hunyuan-3.0", "prompt": "p", "reference_images": ["1"], "reference_image_descriptions": ["x"]},
            "reference_image_descriptions: Hunyuan-3.0 does not take it; leave it out",
        ),
        (
            {"model": "GEM-3.0", "prompt": "p", "reference_images": ["1"], "reference_image_descriptions": ["a", "b"]},
            "reference_image_descriptions: 2 given for 1 reference images",
        ),
        (
            {"model": "GEM-3.0", "prompt": "p", "reference_images": ["cat.png"]},
            'reference_images: "cat.png" is not an http(s) URL, a VOD FileId (digits), a local image path or a '
            "data:image/…;base64, URI",
        ),
        (
            {"model": "GEM-3", "prompt": "p"},
            'model: "GEM-3" is not offered (did you mean GEM-3.0?); use one of GEM-2.5, GEM-3.0, Qwen-0925, '
            "Hunyuan-3.0",
        ),
        ({"model": "GEM-3.0", "prompt": "   "}, "prompt: must not be blank"),
        ({"model": "GEM-3.0"}, "prompt: required"),
        (
            {"model": "GEM-3.0", "prompt": "p", "tasks_priority": 11},
            "tasks_priority: 11 is out of range; use -10 to 10",
        ),
        (
            {"model": "GEM-3.0", "prompt": "p", "tasks_priority": "high"},
            'tasks_priority: must be a whole number, got "high"',
        ),
        (
            {"model": "GEM-3.0", "prompt": "p", "session_id": "x" * 51},
            "session_id: 51 characters given, at most 50 allowed",
        ),
        (
            {"model": "GEM-3.0", "prompt": "p", "storage_mode": "temporary"},
            'storage_mode: "temporary" is not accepted; use one of Temporary, Permanent',
        ),
        ({"model": "GEM-3.0", "prompt": "p", "seed": 42}, "seed: unknown argument; the arguments are aspect_ratio,"),
    ],
)
async def test_a_broken_rule_is_refused_naming_the_argument_and_what_is_allowed_and_nothing_is_sent(
    connect: Connect, relay: FakeRelay, arguments: dict[str, Any], expected: str
) -> None:
    result = await call(connect, arguments)

    assert result.is_error
    assert expected in text_of(result)
    assert "nothing was charged" in text_of(result)
    assert relay.requests == []


async def test_every_problem_is_reported_at_once(connect: Connect, relay: FakeRelay) -> None:
    result = await call(
        connect, {"model": "Qwen-0925", "prompt": "p", "aspect_ratio": "1:1", "resolution": "1K", "x": 1}
    )

    lines = [line for line in text_of(result).splitlines() if line.startswith("- ")]
    assert [line.split(":")[0] for line in lines] == ["- x", "- resolution", "- aspect_ratio"]


async def test_a_missing_api_key_is_a_tool_error_naming_the_variable(connect: Connect, relay: FakeRelay) -> None:
    result = await call(connect, {"model": "GEM-3.0", "prompt": "p"}, api_key="  ")

    assert result.is_error
    assert "QUICKROUTER_API_KEY" in text_of(result)
    assert relay.requests == []


def upstream_error(code: str, message: str) -> httpx2.Response:
    return httpx2.Response(200, json={"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "r-9"}})


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            httpx2.Response(401, json={"error": {"message": f"invalid token {CANARY_KEY}"}}),
            "refused the API key (HTTP 401",
        ),
        (httpx2.Response(403, text="forbidden"), "refused the API key (HTTP 403)"),
        (httpx2.Response(429, headers={"Retry-After": "17"}), "Wait 17 s before submitting again"),
        (httpx2.Response(502, text="<html>Bad gateway</html>"), "The relay failed (HTTP 502)"),
        (
            httpx2.Response(200, text="<html><body>QuickRouter</body></html>", headers={"content-type": "text/html"}),
            "answered HTTP 200 with text/html instead of JSON",
        ),
        (
            upstream_error("InvalidParameterValue.SessionId", "duplicate session id"),
            "Tencent Cloud refused the task: InvalidParameterValue.SessionId: duplicate session id (RequestId r-9)",
        ),
        (httpx2.Response(200, json={"Response": {"RequestId": "r-1"}}), "answered without a TaskId"),
        (httpx2.Response(200, json={"code": "insufficient_quota", "message": "balance too low"}), "balance too low"),
        (httpx2.Response(400, json={"error": {"message": "bad model"}}), "refused the request (HTTP 400: bad model)"),
        (httpx2.ConnectError("refused"), "nothing was submitted"),
        (httpx2.ReadTimeout("slow"), "may have been created and billed"),
    ],
)
async def test_a_relay_fault_is_a_tool_error_a_person_can_act_on(
    connect: Connect, relay: FakeRelay, answer: httpx2.Response | Exception, expected: str
) -> None:
    relay.script.append(answer)

    result = await call(connect, {"model": "GEM-3.0", "prompt": "p"})

    assert result.is_error
    assert expected in text_of(result)
    assert CANARY_KEY not in text_of(result)
    assert len(relay.submits) == 1, "a submit is never retried"
    assert relay.queried == [], "nothing is queried for a task that was not created"


async def test_the_api_key_appears_in_no_result_and_no_log(
    connect: Connect, relay: FakeRelay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    relay.script.extend([accepted(), httpx2.Response(401, json={"message": f"bad key {CANARY_KEY}"})])

    async with connect() as client:
        ok = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "p"})
        refused = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "p"})
        tools = await client.list_tools()

    seen = [text_of(ok), str(ok.structured_content), text_of(refused), tools.model_dump_json(), caplog.text]
    assert all(CANARY_KEY not in text for text in seen)
    assert "***" in text_of(refused)


async def test_the_tool_tells_the_truth_about_itself(connect: Connect) -> None:
    async with connect() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert set(tools) == {"generate_image", "get_image_task", "list_image_tasks", "get_image_usage"}
    tool = tools["generate_image"]
    assert tool.annotations is not None
    assert (tool.annotations.read_only_hint, tool.annotations.idempotent_hint) == (False, False)
    assert tool.annotations.open_world_hint is True
    assert tool.output_schema is not None
    assert {"task_id", "model", "status"} <= set(tool.output_schema["required"])
    assert "request_id" in tool.output_schema["properties"]
