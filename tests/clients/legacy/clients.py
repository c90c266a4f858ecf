"""The clients that live outside the main lock, run against our server by tests/clients/test_legacy.py:

    uv run --locked --project tests/clients/legacy python tests/clients/legacy/clients.py CLIENT SPEC ANSWER

CLIENT is `langchain` (langchain-mcp-adapters' MultiServerMCPClient), `mcp-use` (mcp-use's raw MCPClient),
`mcp-use-adapter` (mcp-use's LangChainAdapter, the tools MCPAgent hands its model) or `genai` (google-genai's
FunctionDeclaration). SPEC is a JSON file: {"server": {"transport": "stdio", "command", "args", "env"} or
{"transport": "http", "url"}, "calls": [arguments of generate_image, ...]} (for `genai`: {"schemas": {name: schema}}).
Writes ANSWER, a JSON file: per call, what the library hands the model (or would). A file, not stdout: mcp-use logs
to stdout.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Any, cast

TOOL = "generate_image"


def untyped(module: str) -> Any:
    """A module that ships no type information (mcp-use has no py.typed), imported as Any."""
    return importlib.import_module(module)


def langchain_connection(server: dict[str, Any]) -> dict[str, Any]:
    if server["transport"] == "stdio":
        return {"transport": "stdio", "command": server["command"], "args": server["args"], "env": server["env"]}
    return {"transport": "streamable_http", "url": server["url"]}


def mcp_use_config(server: dict[str, Any]) -> dict[str, Any]:
    if server["transport"] == "stdio":
        entry = {"command": server["command"], "args": server["args"], "env": server["env"]}
    else:
        entry = {"url": server["url"]}
    return {"mcpServers": {"aigc-image": entry}}


def tool_message(message: Any) -> dict[str, Any]:
    """A LangChain ToolMessage as the model gets it: its status, its content, and that content's text."""
    content: Any = message.content
    if isinstance(content, str):
        text = content
    else:
        texts = [cast(dict[str, Any], block).get("text") if isinstance(block, dict) else block for block in content]
        text = "\n".join(str(part) for part in texts if part is not None)
    return {"status": message.status, "content": content, "text": text}


async def run_langchain(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """What an agent built on langchain-mcp-adapters does: MultiServerMCPClient.get_tools(), then each tool call
    through the tool, which hands back the ToolMessage the model reads."""
    from langchain_mcp_adapters.client import MultiServerMCPClient

    client = MultiServerMCPClient({"aigc-image": cast(Any, langchain_connection(spec["server"]))})
    tools = {tool.name: tool for tool in await client.get_tools()}
    answers: list[dict[str, Any]] = []
    for number, arguments in enumerate(spec["calls"]):
        call = {"type": "tool_call", "name": TOOL, "args": arguments, "id": f"call_{number}"}
        answers.append(tool_message(await tools[TOOL].ainvoke(call)))
    return answers


async def run_mcp_use(spec: dict[str, Any], *, adapter: bool) -> list[dict[str, Any]]:
    """mcp-use's MCPClient: with `adapter`, through the LangChainAdapter's tools (what MCPAgent gives its model);
    without, the raw session's call_tool."""
    client = untyped("mcp_use").MCPClient(config=mcp_use_config(spec["server"]))
    try:
        if adapter:
            adapter_class = untyped("mcp_use.agents.adapters.langchain_adapter").LangChainAdapter
            tools: dict[str, Any] = {tool.name: tool for tool in await adapter_class().create_tools(client)}
            answers: list[dict[str, Any]] = []
            for number, arguments in enumerate(spec["calls"]):
                call = {"type": "tool_call", "name": TOOL, "args": arguments, "id": f"call_{number}"}
                answers.append(tool_message(await tools[TOOL].ainvoke(call)))
            return answers
        session = await client.create_session("aigc-image")
        results: list[Any] = [await session.call_tool(TOOL, arguments) for arguments in spec["calls"]]
        return [result.model_dump(mode="json", by_alias=True, exclude_none=True) for result in results]
    finally:
        await client.close_all_sessions()


def run_genai(spec: dict[str, Any]) -> dict[str, Any]:
    """google-genai's typed FunctionDeclaration from each tool schema: accepted (with the declaration as the
    library would send it), or refused with pydantic's message."""
    from google.genai import types
    from pydantic import ValidationError

    answers: dict[str, Any] = {}
    for name, schema in cast(dict[str, Any], spec["schemas"]).items():
        try:
            declaration = types.FunctionDeclaration(name=TOOL, description="Generate an image.", parameters=schema)
            tool = types.Tool(function_declarations=[declaration])
            answers[name] = {"accepted": tool.model_dump(mode="json", exclude_none=True)}
        except ValidationError as error:
            answers[name] = {"refused": str(error)}
    return answers


def main() -> None:
    client, spec_file, answer_file = sys.argv[1:4]
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    if client == "langchain":
        answer: Any = asyncio.run(run_langchain(spec))
    elif client in ("mcp-use", "mcp-use-adapter"):
        answer = asyncio.run(run_mcp_use(spec, adapter=client == "mcp-use-adapter"))
    elif client == "genai":
        answer = run_genai(spec)
    else:
        raise SystemExit(f"unknown client {client!r}")
    Path(answer_file).write_text(json.dumps(answer), encoding="utf-8")


if __name__ == "__main__":
    main()
