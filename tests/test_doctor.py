"""`aigc-image-mcp doctor` through the real console script, against a fake relay served over real HTTP: it passes
when a call has everything it needs, and otherwise names the fix."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aigc_image_mcp.doctor import PROBE_TASK_ID

from .conftest import CANARY_KEY
from .fake_relay import FakeRelay, serve, unknown_task
from .http_server import clean_env

SCRIPT = str(Path(sys.executable).with_name("aigc-image-mcp"))
TIMEOUT = 60


@pytest.fixture
def relay() -> FakeRelay:
    """A relay that takes only CANARY_KEY and, like the real one, does not know the doctor's TaskId."""
    relay = FakeRelay(keys=frozenset({CANARY_KEY}))
    relay.queries[PROBE_TASK_ID] = deque([unknown_task()])
    return relay


@pytest.fixture
def relay_url(relay: FakeRelay) -> Iterator[str]:
    with serve(relay) as url:
        yield url


def doctor(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    folders = {"AIGC_IMAGE_OUTPUT_DIR": str(tmp_path / "images"), "AIGC_IMAGE_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [SCRIPT, "doctor", *args],
        env=clean_env(**(folders | env)),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def line(report: str, name: str) -> str:
    """The report's line for check `name`, with its fix when it has one."""
    lines = report.splitlines()
    (index,) = [i for i, text in enumerate(lines) if text[2:].startswith(f"{name}: ")]
    has_fix = index + 1 < len(lines) and lines[index + 1].startswith("    fix: ")
    return "\n".join(lines[index : index + 1 + has_fix])


def test_doctor_passes_against_a_working_relay_with_one_free_query(
    tmp_path: Path, relay: FakeRelay, relay_url: str
) -> None:
    done = doctor(tmp_path, QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL=relay_url)

    assert done.returncode == 0, done.stdout + done.stderr
    checks = ("settings", "credentials", "upstream", "credentials accepted", "query route", "data folder")
    for name in (*checks, "output folder", "history"):
        assert line(done.stdout, name).startswith("✓ ")
    assert "QUICKROUTER_API_KEY" in line(done.stdout, "credentials")
    assert CANARY_KEY not in done.stdout + done.stderr
    assert [(r.method, r.url.path) for r in relay.requests] == [("GET", f"/tencent-vod/v1/query/{PROBE_TASK_ID}")]
    assert relay.submits == []


def test_doctor_json_says_ok_and_lists_every_check(tmp_path: Path, relay_url: str) -> None:
    done = doctor(tmp_path, "--json", QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL=relay_url)

    report: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == 0
    assert report["ok"] is True
    assert [check["status"] for check in report["checks"]] == ["ok"] * 8


def test_a_refused_key_fails_and_names_the_key_variable(tmp_path: Path, relay_url: str) -> None:
    done = doctor(tmp_path, QUICKROUTER_API_KEY="sk-not-this-one-0123456789", QUICKROUTER_BASE_URL=relay_url)

    assert done.returncode == 1
    assert line(done.stdout, "upstream").startswith("✓ ")
    refused = line(done.stdout, "credentials accepted")
    assert refused.startswith("✗ ")
    assert "fix: check QUICKROUTER_API_KEY" in refused
    assert "sk-not-this-one-0123456789" not in done.stdout + done.stderr


def test_a_wrong_base_url_fails_and_names_the_base_url_variable(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once the socket closes
    done = doctor(tmp_path, QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL=closed)

    assert done.returncode == 1
    unreachable = line(done.stdout, "upstream")
    assert unreachable.startswith("✗ ")
    assert "fix: check QUICKROUTER_BASE_URL" in unreachable
    assert line(done.stdout, "query route").startswith("- ")


def test_a_base_url_that_serves_a_web_page_fails_and_names_the_base_url_variable(tmp_path: Path) -> None:
    page = FakeRelay(routes={("GET", f"/tencent-vod/v1/query/{PROBE_TASK_ID}"): lambda _: _html()})
    with serve(page) as url:
        done = doctor(tmp_path, QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL=url)

    assert done.returncode == 1
    assert "fix: check QUICKROUTER_BASE_URL" in line(done.stdout, "upstream")


def test_a_missing_query_route_fails_and_names_the_query_path_variable(tmp_path: Path, relay_url: str) -> None:
    done = doctor(
        tmp_path,
        QUICKROUTER_API_KEY=CANARY_KEY,
        QUICKROUTER_BASE_URL=relay_url,
        AIGC_IMAGE_QUERY_PATH="/v1/tasks/{task_id}",
    )

    assert done.returncode == 1
    missing = line(done.stdout, "query route")
    assert missing.startswith("✗ ")
    assert "fix: set AIGC_IMAGE_QUERY_PATH" in missing


def test_an_unwritable_output_folder_fails_and_names_the_output_variable(tmp_path: Path, relay_url: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = doctor(
        tmp_path,
        QUICKROUTER_API_KEY=CANARY_KEY,
        QUICKROUTER_BASE_URL=relay_url,
        AIGC_IMAGE_OUTPUT_DIR=str(blocker / "images"),
    )

    assert done.returncode == 1
    unwritable = line(done.stdout, "output folder")
    assert unwritable.startswith("✗ ")
    assert "fix: set AIGC_IMAGE_OUTPUT_DIR" in unwritable
    assert line(done.stdout, "data folder").startswith("✓ ")


def test_no_key_fails_at_credentials_and_says_where_to_set_one(tmp_path: Path, relay: FakeRelay) -> None:
    done = doctor(tmp_path)

    assert done.returncode == 1
    assert "fix: set QUICKROUTER_API_KEY" in line(done.stdout, "credentials")
    assert line(done.stdout, "upstream").startswith("- ")


def test_a_setting_that_does_not_parse_is_named_by_its_variable_and_the_rest_is_skipped(tmp_path: Path) -> None:
    done = doctor(tmp_path, QUICKROUTER_API_KEY=CANARY_KEY, AIGC_IMAGE_SCHEMA="fancy")

    assert done.returncode == 1
    bad = line(done.stdout, "settings")
    assert bad.startswith("✗ settings: AIGC_IMAGE_SCHEMA")
    assert "fix: change AIGC_IMAGE_SCHEMA" in bad
    assert line(done.stdout, "upstream").startswith("- ")


def _html() -> Any:
    import httpx2

    return httpx2.Response(200, text="<html>welcome</html>", headers={"content-type": "text/html"})
