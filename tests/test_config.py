"""Settings as a user types them: any case and spaces around a choice, and errors that name the variable to change."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from aigc_image_mcp.config import Settings

from .http_server import START_TIMEOUT, clean_env

SCRIPT = str(Path(sys.executable).with_name("aigc-image-mcp"))


@pytest.mark.parametrize(
    ("variable", "typed", "field", "meant"),
    [
        ("AIGC_IMAGE_SCHEMA", "Full", "schema_profile", "full"),
        ("AIGC_IMAGE_SCHEMA", " portable", "schema_profile", "portable"),
        ("AIGC_IMAGE_TRANSPORT", "HTTP ", "transport", "http"),
        ("AIGC_IMAGE_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("AIGC_IMAGE_BACKEND", " QuickRouter", "backend", "quickrouter"),
        ("AIGC_IMAGE_INLINE", " False ", "inline", False),
    ],
)
def test_an_enumerated_setting_takes_any_case_and_spaces_around_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, typed: str, field: str, meant: object
) -> None:
    monkeypatch.setenv(variable, typed)

    assert getattr(Settings(), field) == meant


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
