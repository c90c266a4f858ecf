"""Tencent Cloud direct: the same tools on Tencent's own API, signed by the SDK and checked by a fake that verifies
TC3-HMAC-SHA256 itself, on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from pydantic import ValidationError

from aigc_image_mcp.config import Settings
from aigc_image_mcp.server import build_server

from ..conftest import CANARY_KEY, FakeClock
from ..support.fake_tencent import (
    SECRET_ID,
    SECRET_KEY,
    TASK_ID,
    FakeTencent,
    accepted,
    detail,
    error,
    serve,
    tc3_signature,
)
from ..transport.test_stdio import SCRIPT, environment

TOKEN = "tok-canary-0b9a8c7d6e5f4a3b"  # noqa: S105 - a made-up canary


@pytest.fixture
def fake() -> Generator[FakeTencent]:
    tencent = FakeTencent(token=TOKEN)
    with serve(tencent):
        yield tencent


def tencent_settings(fake: FakeTencent, tmp_path: Path, **values: Any) -> Settings:
    return Settings.model_validate(
        {
            "secret_id": SECRET_ID,
            "secret_key": SECRET_KEY,
            "session_token": TOKEN,
            "vod_subapp_id": 1500012345,
            "tencentcloud_endpoint": fake.base_url,
            "output_dir": tmp_path / "images",
            "data_dir": tmp_path / "data",
            **values,
        }
    )


@asynccontextmanager
async def connected(fake: FakeTencent, tmp_path: Path, **values: Any) -> AsyncGenerator[Client]:
    server = build_server(tencent_settings(fake, tmp_path, **values), clock=FakeClock())
    async with Client(server, mode="legacy") as client:
        yield client


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_task_is_signed_submitted_followed_and_delivered_through_tencents_own_api(
    fake: FakeTencent, tmp_path: Path
) -> None:
    arguments = {"model": "GG-3.1", "prompt": "a fox", "aspect_ratio": "8:1", "seed": 7, "output_format": "png"}
    async with connected(fake, tmp_path) as client:
        result = await client.call_tool("generate_image", arguments)

    assert fake.refused == []
    assert fake.actions("CreateAigcImageTask") == [
        {
            "SubAppId": 1500012345,
            "ModelName": "GG",
            "ModelVersion": "3.1",
            "Prompt": "a fox",
            "OutputConfig": {"AspectRatio": "8:1", "OutputFormat": "png"},
            "Seed": 7,
        }
    ]
    assert fake.actions("DescribeTaskDetail") == [{"TaskId": TASK_ID, "SubAppId": 1500012345}]
    content: dict[str, Any] = result.structured_content or {}
    assert (content["status"], content["model"], content["task_id"]) == ("SUCCEEDED", "GG-3.1", TASK_ID)
    assert (await anyio.Path(content["images"][0]["local_path"]).read_bytes())[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_permanent_image_shows_its_fileid_in_the_users_own_vod(fake: FakeTencent, tmp_path: Path) -> None:
    stored = {"FileUrl": f"{fake.base_url}/files/p.png", "FileId": "387702299774574677", "StorageMode": "Permanent"}
    fake.queries[TASK_ID] = deque([detail(TASK_ID, Output={"FileInfos": [stored]})])
    async with connected(fake, tmp_path) as client:
        result = await client.call_tool(
            "generate_image", {"model": "OG-image2_high", "prompt": "p", "storage_mode": "Permanent"}
        )

    assert (result.structured_content or {})["images"][0]["file_id"] == "387702299774574677"
    assert "387702299774574677" in json.dumps([c.model_dump() for c in result.content])


@pytest.mark.anyio
@pytest.mark.slow
@pytest.mark.parametrize(
    ("answer", "code", "message"),
    [
        (detail(TASK_ID, ErrCode=70000, ErrCodeExt="InvalidParameter.VoilationContent", Message="unsafe"),
         "InvalidParameter.VoilationContent", "unsafe"),
        (detail(TASK_ID, status="ABORTED", Message="cancelled by Tencent"), "ABORTED", "cancelled by Tencent"),
    ],
)  # fmt: skip
async def test_a_task_tencent_rejects_or_aborts_comes_back_failed_with_its_reason(
    fake: FakeTencent, tmp_path: Path, answer: dict[str, Any], code: str, message: str
) -> None:
    fake.queries[TASK_ID] = deque([answer])
    async with connected(fake, tmp_path) as client:
        result = await client.call_tool("generate_image", {"model": "Kling-O1", "prompt": "p"})

    content: dict[str, Any] = result.structured_content or {}
    assert (content["status"], content["error_code"], content["message"]) == ("FAILED", code, message)
    assert content["task_id"] == TASK_ID


@pytest.mark.anyio
async def test_a_response_error_with_http_200_is_an_actionable_refusal_and_nothing_is_followed(
    fake: FakeTencent, tmp_path: Path
) -> None:
    fake.submits.append(error("InvalidParameterValue.SubAppId", "SubAppId is invalid"))
    async with connected(fake, tmp_path) as client:
        result = await client.call_tool("generate_image", {"model": "Vidu-q2", "prompt": "p"})

    text = result.content[0].model_dump()["text"]
    assert result.is_error
    assert "InvalidParameterValue.SubAppId" in text
    assert "AIGC_IMAGE_VOD_SUBAPP_ID" in text
    assert fake.actions("DescribeTaskDetail") == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "code", ["UnauthorizedOperation", "FailedOperation.InvalidAccount", "FailedOperation.InvalidVodUser"]
)
async def test_every_code_tencent_uses_for_refused_credentials_says_which_variables_to_check(
    fake: FakeTencent, tmp_path: Path, code: str
) -> None:
    fake.submits.append(error(code, "not allowed"))
    async with connected(fake, tmp_path) as client:
        result = await client.call_tool("generate_image", {"model": "Vidu-q2", "prompt": "p"})

    text = result.content[0].model_dump()["text"]
    assert result.is_error
    assert f"Tencent Cloud refused the credentials: {code}: not allowed" in text
    assert "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY" in text


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_wrong_secret_key_is_refused_by_the_signature_check_and_named_in_the_error(
    fake: FakeTencent, tmp_path: Path
) -> None:
    async with connected(fake, tmp_path, secret_key="skey-wrong-000000000000000000") as client:  # noqa: S106
        result = await client.call_tool("generate_image", {"model": "GG-2.5", "prompt": "p"})

    text = result.content[0].model_dump()["text"]
    assert fake.refused == ["the signature does not match"]
    assert result.is_error
    assert "AuthFailure.SignatureFailure" in text
    assert "TENCENTCLOUD_SECRET_KEY" in text


@pytest.mark.slow
@pytest.mark.anyio
async def test_the_secrets_never_appear_in_results_logs_or_the_history_even_when_tencent_echoes_them(
    fake: FakeTencent, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.submits.append(accepted())
    fake.queries[TASK_ID] = deque([detail(TASK_ID, ErrCode=1, ErrCodeExt="X", Message=f"bad key {SECRET_KEY} {TOKEN}")])
    caplog.set_level(logging.DEBUG)
    async with connected(fake, tmp_path) as client:
        result = await client.call_tool("generate_image", {"model": "GG-2.5", "prompt": "p"})
        listed = await client.call_tool("list_image_tasks", {})

    seen = json.dumps([result.model_dump(), listed.model_dump()]) + caplog.text
    seen += b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir()).decode("utf-8", "replace")
    assert "bad key ***" in seen
    for secret in (SECRET_KEY, TOKEN):
        assert secret not in seen
    assert SECRET_KEY not in repr(tencent_settings(fake, tmp_path))


def test_the_fakes_own_signature_check_agrees_with_the_sdks_signer() -> None:
    from tencentcloud.common.sign import Sign  # pyright: ignore[reportMissingTypeStubs]

    body = b'{"ModelName":"GG"}'
    ours = tc3_signature(
        SECRET_KEY, host="h", content_type="application/json", body=body, timestamp=1, date="1970-01-01"
    )
    import hashlib

    canonical = (
        f"POST\n/\n\ncontent-type:application/json\nhost:h\n\ncontent-type;host\n{hashlib.sha256(body).hexdigest()}"
    )
    to_sign = f"TC3-HMAC-SHA256\n1\n1970-01-01/vod/tc3_request\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    assert ours == Sign.sign_tc3(SECRET_KEY, "1970-01-01", "vod", to_sign)  # pyright: ignore[reportUnknownMemberType]


def test_the_backend_is_the_one_whose_credentials_are_present_and_both_without_a_choice_is_an_error() -> None:
    tencent = {"secret_id": SECRET_ID, "secret_key": SECRET_KEY}

    assert Settings.model_validate(tencent).backend == "tencentcloud"
    assert (
        Settings.model_validate({"secret_key": SECRET_KEY}).backend == "tencentcloud"
    )  # half: its errors name the rest
    assert Settings.model_validate({"api_key": CANARY_KEY}).backend == "quickrouter"
    assert Settings.model_validate({"api_key": CANARY_KEY, "secret_id": SECRET_ID}).backend == "quickrouter"
    assert (
        Settings.model_validate({**tencent, "api_key": CANARY_KEY, "backend": "quickrouter"}).backend == "quickrouter"
    )
    with pytest.raises(ValidationError, match="QUICKROUTER_API_KEY and TENCENTCLOUD_SECRET_ID") as raised:
        Settings.model_validate({**tencent, "api_key": CANARY_KEY})
    assert SECRET_KEY not in str(raised.value)


@pytest.mark.slow
@pytest.mark.anyio
async def test_the_console_script_generates_through_tencent_cloud_over_stdio(tmp_path: Path) -> None:
    fake = FakeTencent()
    with serve(fake) as base_url:
        env = environment(
            TENCENTCLOUD_SECRET_ID=SECRET_ID,
            TENCENTCLOUD_SECRET_KEY=SECRET_KEY,
            AIGC_IMAGE_TENCENTCLOUD_ENDPOINT=base_url,
            AIGC_IMAGE_VOD_SUBAPP_ID="1500012345",
            AIGC_IMAGE_OUTPUT_DIR=str(tmp_path / "images"),
            AIGC_IMAGE_DATA_DIR=str(tmp_path / "data"),
            AIGC_IMAGE_POLL_INTERVAL="0.05",
        )
        async with Client(StdioServerParameters(command=SCRIPT, env=env), mode="legacy") as client:
            tools = await client.list_tools()
            result = await client.call_tool("generate_image", {"model": "Kling-3.0-Omni", "prompt": "a lighthouse"})

    generate = next(tool for tool in tools.tools if tool.name == "generate_image")
    assert "Kling-3.0-Omni" in generate.input_schema["properties"]["model"]["enum"]
    assert fake.refused == []
    assert (result.structured_content or {})["status"] == "SUCCEEDED"
    assert fake.actions("CreateAigcImageTask")[0]["ModelVersion"] == "3.0-Omni"


def test_over_http_the_servers_tencent_credentials_are_guarded_like_a_relay_key() -> None:
    from aigc_image_mcp.errors import ConfigError
    from aigc_image_mcp.transport.guard import auth_mode
    from aigc_image_mcp.transport.http import check_exposure

    tencent = {"secret_id": SECRET_ID, "secret_key": SECRET_KEY, "transport": "http"}

    assert auth_mode(Settings.model_validate(tencent)) == "open"  # not pass-through: no bearer token can pay
    assert auth_mode(Settings.model_validate(tencent | {"http_tokens": "token-0123456789abcdef"})) == "tokens"
    with pytest.raises(ConfigError, match=r"Refusing to listen on 0\.0\.0\.0"):
        check_exposure(Settings.model_validate(tencent | {"host": "0.0.0.0"}))  # noqa: S104


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_users_picture_and_an_og_mask_reach_tencent_as_base64_with_the_mask_marked(
    fake: FakeTencent, tmp_path: Path
) -> None:
    import base64

    from ..support.fake_relay import png

    picture = tmp_path / "room.png"
    picture.write_bytes(png())
    mask = "data:image/png;base64," + base64.b64encode(png(8, 6)).decode()
    arguments = {"model": "OG-image2_medium", "prompt": "a sofa", "reference_images": [str(picture)]}
    async with connected(fake, tmp_path, input_dirs=(tmp_path,)) as client:
        result = await client.call_tool("generate_image", arguments | {"mask_image": mask, "wait_seconds": 0})

    assert not result.is_error
    (submitted,) = fake.actions("CreateAigcImageTask")
    first, second = submitted["FileInfos"]
    assert (first["Type"], second["Type"], second["ReferenceType"]) == ("Base64", "Base64", "mask")
    assert base64.b64decode(first["Base64"], validate=True)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ReferenceType" not in first


def test_the_tencent_caller_is_the_secret_ids_history_or_a_tokens_own_and_needs_both_credentials() -> None:
    from aigc_image_mcp.callers import caller_of
    from aigc_image_mcp.errors import ConfigError

    token = "token-0123456789abcdef"  # noqa: S105 - a made-up token
    tencent = Settings.model_validate({"secret_id": SECRET_ID, "secret_key": SECRET_KEY, "http_tokens": token})
    local = caller_of(tencent, None, remote=False)
    holder = caller_of(tencent, {"authorization": f"Bearer {token}"}, remote=True)

    assert (local.key, local.shared, holder.shared) == (None, False, True)
    assert local.namespace != holder.namespace
    assert SECRET_ID not in local.namespace
    with pytest.raises(ConfigError, match="TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"):
        caller_of(Settings.model_validate({"backend": "tencentcloud", "secret_id": SECRET_ID}), None, remote=False)


def test_input_dirs_are_a_comma_separated_list_of_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_IMAGE_INPUT_DIRS", " ~/Pictures , /srv/photos ,")

    assert Settings().input_dirs == (Path.home() / "Pictures", Path("/srv/photos"))
