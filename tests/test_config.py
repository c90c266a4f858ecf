"""Settings as a user types them: any case and spaces around a choice, errors that name the variable to change,
lists, folders and defaults."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from aigc_image_mcp.__main__ import doctor_command
from aigc_image_mcp.config import Settings

from .conftest import make_settings
from .support.http_server import START_TIMEOUT, clean_env

TOKEN = "tok-0123456789abcdef"  # noqa: S105 - a test token
SCRIPT = str(Path(sys.executable).with_name("aigc-image-mcp"))


@pytest.mark.parametrize(
    ("variable", "typed", "field", "meant"),
    [
        ("AIGC_IMAGE_SCHEMA", "Full", "schema_profile", "full"),
        ("AIGC_IMAGE_SCHEMA", " portable", "schema_profile", "portable"),
        ("AIGC_IMAGE_SCHEMA", "Strict", "schema_profile", "strict"),
        ("AIGC_IMAGE_TRANSPORT", "HTTP ", "transport", "http"),
        ("AIGC_IMAGE_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("AIGC_IMAGE_BACKEND", " QuickRouter", "backend", "quickrouter"),
        ("AIGC_IMAGE_INLINE", " False ", "inline", False),
        ("AIGC_IMAGE_RESOURCE_LINKS", " True ", "resource_links", True),
    ],
)
def test_an_enumerated_setting_takes_any_case_and_spaces_around_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, typed: str, field: str, meant: object
) -> None:
    monkeypatch.setenv(variable, typed)

    assert getattr(Settings(), field) == meant


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AIGC_IMAGE_HTTP_TOKENS", "short"),
        ("AIGC_IMAGE_SCHEMA", "fancy"),
        ("AIGC_IMAGE_PORT", "eighty"),
        ("AIGC_IMAGE_QUERY_PATH", "/no-task-id"),
        ("QUICKROUTER_BASE_URL", "ftp://relay.example"),
    ],
)
def test_a_setting_the_server_refuses_at_start_is_named_by_its_environment_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    done = subprocess.run(
        [SCRIPT],
        env=clean_env(HOME=str(tmp_path), **{variable: value}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    (problem,) = [text for text in done.stderr.splitlines() if text.startswith("- ")]
    assert problem.startswith(f"- {variable}: ")


@pytest.mark.parametrize(
    ("on_path", "uv", "command"),
    [
        (True, "", "aigc-image-mcp doctor"),
        (False, "/usr/bin/uv", "uv run aigc-image-mcp doctor"),
        (False, "", f"{sys.executable} -m aigc_image_mcp doctor"),
    ],
    ids=["installed", "a clone run by uv", "another interpreter"],
)
def test_the_greeting_names_the_doctor_command_that_works_where_the_server_runs(
    monkeypatch: pytest.MonkeyPatch, on_path: bool, uv: str, command: str
) -> None:
    monkeypatch.setattr(sys, "argv", [SCRIPT])
    monkeypatch.setenv("PATH", str(Path(SCRIPT).parent) if on_path else "/nowhere")
    monkeypatch.setenv("UV", uv)

    assert doctor_command() == command


@pytest.mark.slow
def test_in_a_terminal_the_server_says_what_it_is_and_ctrl_c_quits_at_once_without_a_traceback(
    tmp_path: Path,
) -> None:
    terminal, device = pty.openpty()
    process = subprocess.Popen(
        [SCRIPT],
        stdin=device,
        stdout=device,
        stderr=device,
        env=clean_env(HOME=str(tmp_path)),
        start_new_session=True,
        # The terminal becomes the server's controlling terminal, so Ctrl+C reaches it as it would from a shell.
        preexec_fn=lambda: _control(0),
    )
    os.close(device)
    try:
        shown = _read_until(terminal, b"\n")
        os.write(terminal, b"\x03")  # Ctrl+C
        code = process.wait(timeout=START_TIMEOUT)
        rest = _read_all(terminal)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(terminal)

    assert b"MCP server" in shown
    assert b"aigc-image-mcp doctor" in shown
    assert code == 130
    assert b"Traceback" not in rest


def _control(fd: int) -> None:
    import fcntl
    import termios

    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)


def _read_until(fd: int, end: bytes) -> bytes:
    data = b""
    while end not in data:
        chunk = os.read(fd, 4096)
        assert chunk, data
        data += chunk
    return data


def _read_all(fd: int) -> bytes:
    data = b""
    try:
        while chunk := os.read(fd, 4096):
            data += chunk
    except OSError:  # the terminal reports EIO once the server, its last user, has gone
        pass
    return data


def test_lists_come_comma_separated_and_short_tokens_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_IMAGE_ALLOWED_HOSTS", " a.example , b.example:8443 ,")
    monkeypatch.setenv("AIGC_IMAGE_HTTP_TOKENS", f"{TOKEN},{TOKEN}2")

    settings = Settings()

    assert settings.allowed_hosts == ("a.example", "b.example:8443")
    assert [token.get_secret_value() for token in settings.http_tokens] == [TOKEN, f"{TOKEN}2"]
    assert TOKEN not in repr(settings)
    with pytest.raises(ValidationError, match="at least 16 characters") as refused:
        make_settings(http_tokens="short-token")
    assert "short-token" not in str(refused.value)


def test_the_defaults_are_loopback_and_a_megabyte(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIGC_IMAGE_HOST", "AIGC_IMAGE_MAX_BODY_BYTES", "AIGC_IMAGE_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings()

    assert (defaults.transport, defaults.host, defaults.port) == ("stdio", "127.0.0.1", 8000)
    assert defaults.max_body_bytes == 1_048_576


def test_unset_folders_default_to_the_users_pictures_and_data_folders(tmp_path: Path) -> None:
    settings = make_settings(output_dir="", data_dir="  ", inline="")

    assert settings.images_dir == tmp_path / "home" / "Pictures" / "aigc-image-mcp"
    assert settings.history_file == tmp_path / "home" / ".local" / "share" / "aigc-image-mcp" / "history.sqlite3"
    assert settings.inline is True


def test_folders_given_with_a_tilde_are_expanded(tmp_path: Path) -> None:
    settings = make_settings(output_dir="~/art", data_dir="~/state")

    assert settings.images_dir == tmp_path / "home" / "art"
    assert settings.history_file == tmp_path / "home" / "state" / "history.sqlite3"


def test_relative_folders_are_taken_from_the_home_folder_not_from_where_the_server_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIGC_IMAGE_INPUT_DIRS", "photos, ~/scans")
    settings = make_settings(output_dir="art", data_dir="state/aigc")

    assert settings.images_dir == tmp_path / "home" / "art"
    assert settings.history_file == tmp_path / "home" / "state" / "aigc" / "history.sqlite3"
    assert Settings().input_dirs == (tmp_path / "home" / "photos", tmp_path / "home" / "scans")


@pytest.mark.parametrize(
    ("variable", "field", "value"),
    [
        ("AIGC_IMAGE_BASE_URL", "base_url", "http://elsewhere.example"),
        ("AIGC_IMAGE_SCHEMA_PROFILE", "schema_profile", "full"),
        ("AIGC_IMAGE_API_KEY", "api_key", "sk-not-read-from-here"),
    ],
)
def test_each_setting_is_read_from_its_one_documented_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, field: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    assert getattr(Settings(), field) == Settings.model_fields[field].default


def test_an_invalid_yes_or_no_lists_the_values_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_IMAGE_INLINE", "maybe")

    with pytest.raises(ValidationError) as raised:
        Settings()

    assert "'maybe' is not one of 0, 1, f, false, n, no, off, on, t, true, y, yes" in str(raised.value)


@pytest.mark.parametrize("path", ["/tencent-vod/v1/query", "tencent-vod/v1/query/{task_id}"])
def test_a_query_path_without_a_leading_slash_and_task_id_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="query_path"):
        Settings.model_validate({"query_path": path})
