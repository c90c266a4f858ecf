"""main(): parse flags, read settings once, log to stderr, run the server on stdio or over HTTP."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from . import __version__
from .config import Settings
from .errors import AigcImageError
from .server import NAME, build_server


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `aigc-image-mcp` and `python -m aigc_image_mcp`."""
    flags = _parser().parse_args(argv)
    try:
        settings = Settings(**{name: value for name, value in vars(flags).items() if value is not None})
    except ValidationError as exc:
        sys.exit(f"{NAME}: invalid configuration:\n{_describe(exc)}")
    # stdout carries the protocol on stdio; logs go to stderr, and the SDK's own setup finds this one in place.
    logging.basicConfig(stream=sys.stderr, level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    # httpx2 logs every request at INFO; our own log line per task says what matters.
    logging.getLogger("httpx2").setLevel(logging.DEBUG if settings.log_level == "DEBUG" else logging.WARNING)
    try:
        if settings.transport == "http":
            from .http import serve  # uvicorn is loaded only to serve HTTP: the stdio start stays light

            serve(settings)
        else:
            import anyio

            from .stdio import serve_stdio

            anyio.run(serve_stdio, build_server(settings))
    except AigcImageError as exc:
        sys.exit(f"{NAME}: {exc}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=NAME, description="MCP server for Tencent VOD AIGC image generation.")
    parser.add_argument("--version", action="version", version=f"{NAME} {__version__}")
    parser.add_argument("--transport", choices=["stdio", "http"], help="stdio (default) or http: MCP at /mcp")
    parser.add_argument("--host", help="address to listen on over http (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on over http (default 8000)")
    parser.add_argument("--workers", type=int, help="worker processes over http (default 1)")
    return parser


def _describe(exc: ValidationError) -> str:
    return "\n".join(f"- {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


if __name__ == "__main__":
    main()
