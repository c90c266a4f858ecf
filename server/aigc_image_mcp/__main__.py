"""main(): parse flags, read settings once, log to stderr, run the server on stdio or over HTTP."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shutil
import signal
import sys
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from . import NAME, __version__

if TYPE_CHECKING:
    from pydantic import ValidationError


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `aigc-image-mcp` and `python -m aigc_image_mcp`."""
    flags = _parser().parse_args(argv)
    with collection_paused():
        from pydantic import ValidationError

        from .config import Settings
        from .errors import AigcImageError
        from .server import build_server
    overrides = {
        name: value for name, value in vars(flags).items() if value is not None and name in Settings.model_fields
    }
    if flags.command == "doctor":
        from .doctor import main as doctor

        sys.exit(doctor(overrides, flags.json))
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        sys.exit(f"{NAME}: invalid configuration:\n{_describe(exc)}")
    # stdout carries the protocol on stdio; logs go to stderr, and the SDK's own setup finds this one in place.
    logging.basicConfig(stream=sys.stderr, level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    # No line names its thread, process or source line: the records need not look them up (the logging HOWTO's
    # "Optimization" names these switches), which takes more than half the cost off the log line of each submit.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # pyright: ignore[reportPrivateUsage]
    # httpx2 logs every request at INFO; our own log line per task says what matters.
    logging.getLogger("httpx2").setLevel(logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING)
    try:
        if settings.transport == "http":
            from .transport.http import serve  # uvicorn is loaded only to serve HTTP: the stdio start stays light

            serve(settings)
        else:
            import anyio

            from .transport.stdio import serve_stdio

            _in_a_terminal()
            anyio.run(serve_stdio, build_server(settings))
    except AigcImageError as exc:
        sys.exit(f"{NAME}: {exc}")


@contextmanager
def collection_paused() -> Generator[None]:
    """The imports of the start (the SDK, pydantic and ours) with Python's cyclic garbage collector paused: they
    allocate hundreds of thousands of objects that live as long as the process, and the collector, run every 700
    allocations, would keep walking them (about a tenth of the start's CPU time), to find almost nothing to free.
    Afterwards what was imported is moved out of the collector's sight for good (gc.freeze), so later collections
    do not walk it either, and collection resumes as before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


def _in_a_terminal() -> None:
    """A person started the server by hand: say in one line what it is, and let Ctrl+C quit at once. (On stdio the
    SDK reads stdin in a worker thread that a first Ctrl+C cannot stop; a second one would end in a traceback.)"""
    if not sys.stdin.isatty():
        return
    signal.signal(signal.SIGINT, _quit)
    print(  # noqa: T201 - stderr: stdout belongs to the protocol
        f"{NAME} {__version__}: an MCP server that an MCP client (Claude Desktop, Claude Code, Cursor, VS Code) starts "
        f"and talks to over stdin/stdout; add it to your client as the README says. Check the set-up: "
        f"{doctor_command()}. "
        "Ctrl+C quits.",
        file=sys.stderr,
        flush=True,
    )


def doctor_command() -> str:
    """How to run doctor from where this server was started: its console script when the shell finds this very one,
    else through uv (in a clone, `uv run` is how the server started) or this interpreter."""
    found = shutil.which(NAME)
    if found is not None and Path(found).resolve() == Path(sys.argv[0]).resolve():
        return f"{NAME} doctor"
    if os.environ.get("UV"):  # set by `uv run` for the commands it starts
        return f"uv run {NAME} doctor"
    return f"{sys.executable} -m aigc_image_mcp doctor"


def _quit(signum: int, frame: FrameType | None) -> NoReturn:
    # Nothing is lost: the history commits every change as it happens, and no client is attached to a terminal.
    sys.stderr.write("\n")
    sys.stderr.flush()
    os._exit(128 + signum)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=NAME, description="MCP server for Tencent VOD AIGC image generation.")
    parser.add_argument("--version", action="version", version=f"{NAME} {__version__}")
    parser.add_argument(
        "command", nargs="?", choices=["doctor"], help="doctor: check the set-up (settings, key, relay, folders)"
    )
    parser.add_argument("--json", action="store_true", help="doctor: the report as JSON, for scripts")
    # No argparse choices: the settings take the value in any case, as they do from the environment.
    parser.add_argument("--transport", help="stdio (default) or http: MCP at /mcp")
    parser.add_argument("--host", help="address to listen on over http (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on over http (default 8000)")
    parser.add_argument("--workers", type=int, help="worker processes over http (default 1)")
    return parser


def _describe(exc: ValidationError) -> str:
    from .config import variable_of

    return "\n".join(f"- {variable_of(str(e['loc'][0])) if e['loc'] else 'settings'}: {e['msg']}" for e in exc.errors())


if __name__ == "__main__":
    main()
