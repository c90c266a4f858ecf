"""`aigc-image-mcp doctor` through the real console script, against a fake relay served over real HTTP: it passes
when a call has everything it needs, and otherwise names the fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from aigc_image_mcp.doctor import PROBE_TASK_ID, diagnose, passed, report
from aigc_image_mcp.doctor import main as doctor_main

from .conftest import CANARY_KEY
from .support.fake_issuer import FakeIssuer
from .support.fake_relay import FakeRelay, serve, unknown_task
from .support.fake_tencent import SECRET_ID as TENCENT_ID
from .support.fake_tencent import SECRET_KEY as TENCENT_KEY
from .support.fake_tencent import FakeTencent, Raw
from .support.fake_tencent import error as tencent_error
from .support.fake_tencent import serve as serve_tencent
from .support.http_server import clean_env

SCRIPT = str(Path(sys.executable).with_name("aigc-image-mcp"))
TIMEOUT = 60
HTML = httpx2.Response(200, text="<html>welcome</html>", headers={"content-type": "text/html"})


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_doctor_json_says_ok_and_lists_every_check(tmp_path: Path, relay_url: str) -> None:
    done = doctor(tmp_path, "--json", QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL=relay_url)

    report: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == 0
    assert report["ok"] is True
    assert [check["status"] for check in report["checks"]] == ["ok"] * 8


@pytest.mark.slow
def test_a_refused_key_fails_and_names_the_key_variable(tmp_path: Path, relay_url: str) -> None:
    done = doctor(tmp_path, QUICKROUTER_API_KEY="sk-not-this-one-0123456789", QUICKROUTER_BASE_URL=relay_url)

    assert done.returncode == 1
    assert line(done.stdout, "upstream").startswith("✓ ")
    refused = line(done.stdout, "credentials accepted")
    assert refused.startswith("✗ ")
    assert "fix: check QUICKROUTER_API_KEY" in refused
    assert "sk-not-this-one-0123456789" not in done.stdout + done.stderr


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_base_url_that_serves_a_web_page_fails_and_names_the_base_url_variable(tmp_path: Path) -> None:
    page = FakeRelay(routes={("GET", f"/tencent-vod/v1/query/{PROBE_TASK_ID}"): lambda _: HTML})
    with serve(page) as url:
        done = doctor(tmp_path, QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL=url)

    assert done.returncode == 1
    assert "fix: check QUICKROUTER_BASE_URL" in line(done.stdout, "upstream")


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_no_key_fails_at_credentials_and_says_where_to_set_one(tmp_path: Path, relay: FakeRelay) -> None:
    done = doctor(tmp_path)

    assert done.returncode == 1
    assert "fix: set QUICKROUTER_API_KEY" in line(done.stdout, "credentials")
    assert line(done.stdout, "upstream").startswith("- ")


@pytest.mark.slow
def test_a_setting_that_does_not_parse_is_named_by_its_variable_and_the_rest_is_skipped(tmp_path: Path) -> None:
    done = doctor(tmp_path, QUICKROUTER_API_KEY=CANARY_KEY, AIGC_IMAGE_SCHEMA="fancy")

    assert done.returncode == 1
    bad = line(done.stdout, "settings")
    assert bad.startswith("✗ settings: AIGC_IMAGE_SCHEMA")
    assert "fix: change AIGC_IMAGE_SCHEMA" in bad
    assert line(done.stdout, "upstream").startswith("- ")


@pytest.mark.parametrize(
    ("answer", "failed", "says"),
    [
        (httpx2.Response(429, json={"error": {"message": "slow down"}}), "credentials accepted", "run doctor again"),
        (httpx2.Response(502, text="bad gateway"), "upstream", "QUICKROUTER_BASE_URL"),
        (httpx2.Response(400, json={"error": {"message": "model access"}}), "query route", "upstream's message"),
        (unknown_task("AuthFailure.SecretIdNotFound", "no such SecretId"), "credentials accepted", "check"),
        (unknown_task("FailedOperation", "try later"), "query route", "upstream's message"),
    ],
)
@pytest.mark.anyio
async def test_each_other_upstream_answer_fails_the_check_it_concerns(
    tmp_path: Path, answer: httpx2.Response, failed: str, says: str
) -> None:
    relay = FakeRelay(routes={("GET", f"/tencent-vod/v1/query/{PROBE_TASK_ID}"): lambda _: answer})
    settings = {"api_key": CANARY_KEY, "base_url": "https://relay.test", "output_dir": tmp_path, "data_dir": tmp_path}

    checks = await diagnose(settings, relay.transport())

    (check,) = [check for check in checks if check.name == failed]
    assert (check.status, says in check.fix) == ("fail", True), check
    assert not passed(checks)
    assert CANARY_KEY not in report(checks, as_json=True)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("given", "missing"),
    [("secret_id", "TENCENTCLOUD_SECRET_KEY"), ("secret_key", "TENCENTCLOUD_SECRET_ID")],
)
async def test_half_of_tencents_credentials_names_the_missing_half(tmp_path: Path, given: str, missing: str) -> None:
    settings = {given: "AKIDhalfofapair", "output_dir": tmp_path, "data_dir": tmp_path}

    checks = await diagnose(settings)

    (credentials,) = [check for check in checks if check.name == "credentials"]
    assert credentials.status == "fail"
    assert credentials.detail == "backend tencentcloud; none found"
    assert credentials.fix.startswith(f"set {missing} as well")
    assert "QUICKROUTER_API_KEY" not in credentials.fix


@pytest.mark.anyio
async def test_a_pass_through_http_server_says_how_to_check_a_clients_key(tmp_path: Path) -> None:
    settings = {"transport": "http", "output_dir": tmp_path, "data_dir": tmp_path}

    checks = await diagnose(settings)

    (credentials,) = [check for check in checks if check.name == "credentials"]
    assert credentials.status == "fail"
    assert "QUICKROUTER_API_KEY=<the key> aigc-image-mcp doctor" in credentials.fix


@pytest.mark.anyio
async def test_a_broken_history_file_fails_the_history_check(tmp_path: Path, relay: FakeRelay) -> None:
    (tmp_path / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    settings = {"api_key": CANARY_KEY, "base_url": "https://relay.test", "output_dir": tmp_path, "data_dir": tmp_path}

    checks = await diagnose(settings, relay.transport())

    assert [(check.name, check.status) for check in checks if check.status != "ok"] == [("history", "fail")]
    assert "AIGC_IMAGE_DATA_DIR" in checks[-1].fix


@pytest.mark.anyio
async def test_in_process_a_bad_setting_skips_every_later_check(tmp_path: Path) -> None:
    checks = await diagnose({"schema_profile": "fancy", "data_dir": tmp_path})

    assert [(check.name, check.status) for check in checks][:2] == [("settings", "fail"), ("credentials", "skipped")]
    assert checks[0].detail.startswith("AIGC_IMAGE_SCHEMA: ")


@pytest.mark.anyio
async def test_in_process_an_unwritable_data_folder_skips_the_history(tmp_path: Path, relay: FakeRelay) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = {"api_key": CANARY_KEY, "base_url": "https://relay.test", "output_dir": tmp_path}

    checks = await diagnose(settings | {"data_dir": blocker / "data"}, relay.transport())

    assert [(check.name, check.status) for check in checks if check.status != "ok"] == [
        ("data folder", "fail"),
        ("history", "skipped"),
    ]


def test_main_prints_one_line_per_check_and_exits_1_when_one_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    settings = {"api_key": CANARY_KEY, "base_url": closed, "output_dir": tmp_path, "data_dir": tmp_path}

    code = doctor_main(settings, as_json=False)

    shown = capsys.readouterr().out
    assert code == 1
    assert shown.splitlines()[-1] == "Not ready: fix the ✗ lines above."
    assert [text[0] for text in shown.splitlines() if not text.startswith(" ")][:-1] == list("✓✓✗--✓✓✓")


def tencent_doctor(tmp_path: Path, fake: FakeTencent, **env: str) -> str:
    """doctor's report on the Tencent Cloud direct backend, against `fake` over real HTTP."""
    credentials = {"TENCENTCLOUD_SECRET_ID": TENCENT_ID, "TENCENTCLOUD_SECRET_KEY": TENCENT_KEY}
    with serve_tencent(fake) as url:
        settings = {"AIGC_IMAGE_BACKEND": "tencentcloud", "AIGC_IMAGE_TENCENTCLOUD_ENDPOINT": url}
        done = doctor(tmp_path, **(settings | credentials | env))
    assert TENCENT_KEY not in done.stdout + done.stderr
    return done.stdout.replace(url, "<endpoint>")


@pytest.mark.slow
def test_doctor_checks_the_tencent_backend_with_one_describe_task_detail(tmp_path: Path) -> None:
    fake = FakeTencent()
    fake.queries[PROBE_TASK_ID] = deque([tencent_error("InvalidParameterValue.TaskId", "TaskId not found")])

    checked = tencent_doctor(tmp_path, fake)

    assert line(checked, "upstream") == "✓ upstream: tencentcloud at <endpoint> answers"
    assert line(checked, "query route") == "✓ query route: DescribeTaskDetail answers"
    assert [action for action, _ in fake.calls] == ["DescribeTaskDetail", "DescribeAigcQuotas"]
    assert "upstream quotas" not in checked  # none set: nothing to show


@pytest.mark.slow
def test_doctor_shows_the_aigc_quotas_set_on_the_tencent_account(tmp_path: Path) -> None:
    fake = FakeTencent(quotas=[{"QuotaType": "Image", "QuotaLimit": 500, "Usage": 120}])
    fake.queries[PROBE_TASK_ID] = deque([tencent_error("InvalidParameterValue.TaskId", "TaskId not found")])

    checked = tencent_doctor(tmp_path, fake, AIGC_IMAGE_VOD_SUBAPP_ID="1500012345")

    assert line(checked, "upstream quotas") == (
        "✓ upstream quotas: the account's AIGC caps at Tencent's VOD API: Image: 120 of 500 used"
    )
    assert fake.actions("DescribeAigcQuotas") == [{"QuotaType": "Image", "Limit": 100, "SubAppId": 1500012345}]
    assert fake.refused == []
    assert checked.splitlines()[-1] == "Ready: a call has everything it needs."


@pytest.mark.slow
def test_doctor_points_a_tencent_user_at_the_endpoint_not_the_relay_settings(tmp_path: Path) -> None:
    fake = FakeTencent()
    fake.queries[PROBE_TASK_ID] = deque([Raw(404, b"<html>Not Found</html>", {"content-type": "text/html"})])

    checked = tencent_doctor(tmp_path, fake)

    assert line(checked, "query route") == (
        "✗ query route: DescribeTaskDetail is not found (HTTP 404)\n    fix: check AIGC_IMAGE_TENCENTCLOUD_ENDPOINT "
        "(now <endpoint>; Tencent's VOD API is vod.tencentcloudapi.com) and the network"
    )
    assert "QUICKROUTER" not in checked
    assert "AIGC_IMAGE_QUERY_PATH" not in checked


@pytest.mark.slow
def test_doctor_names_the_tencent_variables_when_they_are_missing_or_refused(tmp_path: Path) -> None:
    missing = tencent_doctor(tmp_path, FakeTencent(), TENCENTCLOUD_SECRET_ID="", TENCENTCLOUD_SECRET_KEY="")
    refused = tencent_doctor(tmp_path, FakeTencent(secret_key="another-key-entirely"))  # noqa: S106 (made up)

    assert line(missing, "credentials") == (
        "✗ credentials: backend tencentcloud; none found\n    fix: set TENCENTCLOUD_SECRET_ID and "
        "TENCENTCLOUD_SECRET_KEY to an API key of your Tencent Cloud account"
    )
    assert line(refused, "credentials accepted").startswith("✗ credentials accepted: Tencent Cloud refused the")
    assert "fix: check TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY" in line(refused, "credentials accepted")


@pytest.mark.slow
def test_doctor_makes_no_folder_and_no_history_file_and_says_when_they_will_be_made(tmp_path: Path) -> None:
    done = doctor(tmp_path, QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL="http://127.0.0.1:9")

    assert done.returncode == 1  # the relay is not there
    assert (
        line(done.stdout, "output folder")
        == f"✓ output folder: {tmp_path / 'images'} is writable (made with the first image)"
    )
    assert line(done.stdout, "history").startswith(f"✓ history: {tmp_path / 'data' / 'history.sqlite3'} is made")
    assert sorted(path.name for path in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_offline_doctor_names_the_tencent_endpoint_once(tmp_path: Path) -> None:
    done = doctor(
        tmp_path,
        TENCENTCLOUD_SECRET_ID=TENCENT_ID,
        TENCENTCLOUD_SECRET_KEY=TENCENT_KEY,
        AIGC_IMAGE_TENCENTCLOUD_ENDPOINT="http://127.0.0.1:9",
    )

    upstream = line(done.stdout, "upstream")
    assert upstream.startswith("✗ upstream: tencentcloud at http://127.0.0.1:9 cannot be reached")
    assert upstream.count("127.0.0.1:9") == 1
    assert "fix: check AIGC_IMAGE_TENCENTCLOUD_ENDPOINT" in upstream


@pytest.mark.slow
def test_doctor_piped_into_a_reader_that_stopped_ends_without_a_traceback(tmp_path: Path) -> None:
    # As `doctor | head -1` when head is gone before the report is written: the pipe's reading end is closed.
    env = clean_env(QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL="http://127.0.0.1:9", HOME=str(tmp_path))
    reading, writing = os.pipe()
    os.close(reading)
    try:
        done = subprocess.run(
            [SCRIPT, "doctor"], env=env, stdout=writing, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT, check=False
        )
    finally:
        os.close(writing)

    assert done.returncode == 1  # the report says the relay is not there; nobody read it
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


@pytest.mark.slow
def test_doctor_finds_the_identity_providers_keys_or_says_what_to_check(tmp_path: Path, relay_url: str) -> None:
    issuer = FakeIssuer(path="/realms/team", discovery="openid")
    with serve(issuer) as issuer_url:
        issuer.base_url = issuer_url
        oauth = {"QUICKROUTER_API_KEY": CANARY_KEY, "QUICKROUTER_BASE_URL": relay_url, "AIGC_IMAGE_TRANSPORT": "http"}
        oauth |= {"AIGC_IMAGE_PUBLIC_URL": "https://images.example.com/mcp"}
        good = doctor(tmp_path, **oauth, AIGC_IMAGE_OAUTH_ISSUER=issuer.issuer)
        wrong = doctor(tmp_path, **oauth, AIGC_IMAGE_OAUTH_ISSUER=issuer_url + "/realms/other")
        insecure = doctor(tmp_path, **oauth, AIGC_IMAGE_OAUTH_ISSUER="http://login.example.com")

    assert good.returncode == 0, good.stdout + good.stderr
    assert (
        line(good.stdout, "identity provider") == f"✓ identity provider: {issuer.issuer}: metadata found, 1 signing key"
    )
    assert wrong.returncode == 1
    assert "fix: check AIGC_IMAGE_OAUTH_ISSUER" in line(wrong.stdout, "identity provider")
    assert "AIGC_IMAGE_OAUTH_ISSUER must use https://" in line(insecure.stdout, "identity provider")


@pytest.mark.anyio
async def test_a_wrong_prices_file_fails_its_check_naming_the_entry_and_a_right_one_passes(
    tmp_path: Path, relay: FakeRelay
) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"currency": "CNY", "models": {"GG-3.0": 0.9}}), encoding="utf-8")  # Tencent's id
    right = tmp_path / "right.json"
    right.write_text(json.dumps({"currency": "CNY", "models": {"GEM-3.0": 0.9}}), encoding="utf-8")
    settings = {"api_key": CANARY_KEY, "base_url": "https://relay.test", "output_dir": tmp_path, "data_dir": tmp_path}

    refused = await diagnose(settings | {"prices": wrong}, relay.transport())
    accepted = await diagnose(settings | {"prices": right}, relay.transport())

    (check,) = [check for check in refused if check.name == "prices"]
    assert check.status == "fail"
    assert f"{wrong}: models.GG-3.0: is not a model of this backend" in check.detail
    assert "AIGC_IMAGE_PRICES" in check.fix
    assert not passed(refused)
    assert [(c.name, c.status, c.detail) for c in accepted if c.name == "prices"] == [
        ("prices", "ok", f"{right}: 1 model priced in CNY")
    ]
    assert passed(accepted)
