"""The stdio transport: over pipes, without threads (pipes.py), elsewhere the SDK's own; either way with an answer to
a line it cannot read.

The SDK's stdio reader (and pipes.py, which keeps its contract) turns a line that is not JSON (or holds a lone surrogate
such as "\\ud800", or is JSON but no JSON-RPC message) into an exception on its read stream, and its dispatcher drops
that with a debug log: the client never hears back and waits forever. Over HTTP the same line gets -32700. Here such an
item is answered on the write stream instead, as JSON-RPC says: -32700 (parse error) or -32600 (invalid request).

A line the parser refused may still be a request someone waits for: a lone surrogate escape (JavaScript clients send
"\\ud800"), or nesting deeper than the parser's 200 levels. A scan of the line's top level, which builds no nested
value, reads its id where it can; the answer then goes to that id and names the problem. Only a line whose id cannot
be read is answered with id null.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Protocol, Self, cast

import anyio
from anyio.abc import AsyncResource
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

from ..protocol.sdk_private import lowlevel_server
from .pipes import LineTooLong, pipe_stdio

logger = logging.getLogger(__name__)

PARSER_DEPTH = 200
"""Levels of nesting the SDK's JSON parser (jiter) reads."""
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[][{},:]', re.DOTALL)
"""A string, or a character of JSON's structure: what the id scan looks at (numbers and literals are skipped)."""
_ID_VALUE = re.compile(r'\s*:\s*(-?[0-9]{1,19}(?![0-9.eE])|"(?:[^"\\]|\\.)*")')
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class Inbound(Protocol):
    """What the SDK's stdio reader yields: messages, and exceptions for lines it could not read."""

    async def receive(self) -> SessionMessage | Exception: ...
    async def aclose(self) -> None: ...


class Outbound(Protocol):
    async def send(self, item: SessionMessage, /) -> None: ...


async def serve_stdio(server: MCPServer[Any]) -> None:
    """`server.run()` on stdio, answering unreadable lines."""
    # MCPServer serves stdio only through run_stdio_async, which opens the streams itself; to wrap them, run its
    # low-level server the way run_stdio_async does.
    lowlevel = lowlevel_server(server)
    async with pipe_stdio() or stdio_server() as (read_stream, write_stream):
        answering = AnsweringReader(read_stream, write_stream)
        await lowlevel.run(answering, write_stream, lowlevel.create_initialization_options())


class AnsweringReader(AsyncResource):
    """A read stream that hands on messages and answers, in place of the server, the lines that were not ones."""

    def __init__(self, inner: Inbound, answers: Outbound) -> None:
        self._inner = inner
        self._answers = answers

    async def receive(self) -> SessionMessage | Exception:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            error = refusal(item)
            if error is not None:
                await self._answers.send(SessionMessage(error))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()
        return None


def refusal(exc: Exception) -> JSONRPCError | None:
    """The JSON-RPC answer to a line the SDK could not read; None for a blank line, which asks nothing."""
    if isinstance(exc, LineTooLong):
        logger.warning("Answered a line that is too long with a parse error")
        return _error(None, PARSE_ERROR, f"Parse error: {exc}; send smaller pictures, or paths or URLs")
    if not isinstance(exc, ValidationError):
        logger.warning("The stdio reader failed: %r", exc)
        return None
    errors = exc.errors(include_url=False)
    if errors and errors[0]["type"] == "json_invalid":
        line = str(errors[0].get("input", "x"))
        if not line.strip():
            return None
        request_id = readable_id(line)
        logger.info("Answered a line that is not JSON with a parse error (to id %r)", request_id)
        return _error(request_id, PARSE_ERROR, f"Parse error: {_unreadable(line, str(errors[0]['msg']))}")
    logger.info("Answered a JSON line that is not a JSON-RPC message with an invalid-request error")
    return _error(_request_id(errors), INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")


def _unreadable(line: str, parser_says: str) -> str:
    """What made `line` unreadable, in words the client's developer can act on."""
    if "recursion limit" in parser_says:
        return f"the JSON is nested deeper than the {PARSER_DEPTH} levels this server reads; send flatter values"
    if _lone_surrogate(line):
        return (
            "a string holds a lone surrogate escape such as \\ud800 (half of a UTF-16 pair), which is not text; "
            "send valid Unicode"
        )
    return f"not valid JSON ({parser_says})"


def _lone_surrogate(line: str) -> bool:
    """Whether `line` is JSON that Python's more tolerant parser reads, holding a lone surrogate in a string."""
    try:
        parsed = json.loads(line)
    except (ValueError, RecursionError):
        return False
    pending: list[Any] = [parsed]
    while pending:  # a loop, not recursion: the value may be nested hundreds of levels
        value = pending.pop()
        if isinstance(value, str) and _SURROGATE.search(value):
            return True
        if isinstance(value, dict):
            pending += [*cast(dict[str, Any], value).keys(), *cast(dict[str, Any], value).values()]
        elif isinstance(value, list):
            pending += cast(list[Any], value)
    return False


def readable_id(line: str) -> int | str | None:
    """The "id" of the object `line` holds at its top level, read by a scan that builds no nested value; None when
    the line is no object, has no such id, or its id is not one JSON-RPC allows (an integer or a string)."""
    if not line.lstrip().startswith("{"):
        return None
    depth, key_next = 0, False
    for token in _TOKENS.finditer(line):
        text = token.group()
        if text in ("{", "["):
            depth += 1
            key_next = depth == 1
        elif text in ("}", "]"):
            depth -= 1
        elif text in (",", ":"):
            key_next = depth == 1 and text == ","
        elif depth == 1 and key_next:
            key_next = False
            if text == '"id"':
                return _id_value(line, token.end())
    return None


def _id_value(line: str, position: int) -> int | str | None:
    found = _ID_VALUE.match(line, position)
    if found is None:
        return None
    try:
        value = json.loads(found.group(1))
    except ValueError:
        return None
    if isinstance(value, str) and _SURROGATE.search(value):
        return None  # it could not be written back as UTF-8
    return cast(int | str, value)


def _request_id(errors: list[Any]) -> int | str | None:
    """The id of a message that is JSON-RPC in part, so that its sender's wait ends; None when it has none."""
    for error in errors:
        received = error.get("input")
        if isinstance(received, dict):
            found = cast(dict[str, Any], received).get("id")
            if isinstance(found, int | str) and not isinstance(found, bool):
                return found
    return None


def _error(request_id: int | str | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))
