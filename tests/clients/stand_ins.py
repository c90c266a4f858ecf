"""Local stand-ins for the model providers' APIs, served on 127.0.0.1 (with tests.support.fake_relay.serve): a model
that calls generate_image once per scripted set of arguments, then ends its turn. Each records the requests the library
sent, so a test reads the tool results exactly as the model would have received them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import httpx2

TOOL = "generate_image"


@dataclass
class _Scripted:
    calls: list[dict[str, Any]]
    """The arguments of each tool call the model makes, one per turn."""
    bodies: list[dict[str, Any]] = field(default_factory=lambda: [])
    paths: list[str] = field(default_factory=lambda: [])

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = cast(dict[str, Any], json.loads(request.content))
        self.bodies.append(body)
        self.paths.append(request.url.path)
        turn = len(self.bodies) - 1
        return httpx2.Response(200, json=self.answer(body, turn))

    def answer(self, body: dict[str, Any], turn: int) -> dict[str, Any]:
        raise NotImplementedError


@dataclass
class FakeMessages(_Scripted):
    """Anthropic's Messages API (POST /v1/messages): a tool_use per scripted call, then end_turn."""

    def answer(self, body: dict[str, Any], turn: int) -> dict[str, Any]:
        if turn < len(self.calls):
            content = [{"type": "tool_use", "id": f"toolu_{turn}", "name": TOOL, "input": self.calls[turn]}]
            stop = "tool_use"
        else:
            content, stop = [{"type": "text", "text": "Done."}], "end_turn"
        return {
            "id": f"msg_{turn}",
            "type": "message",
            "role": "assistant",
            "model": "claude-stand-in",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }

    def tool_results(self) -> list[dict[str, Any]]:
        """The tool_result block of each call, in order: what the model read. The SDK sends each turn's new messages
        only (with `thread.previous_message_id`), so they are gathered from every request, by tool_use_id."""
        found = {
            block["tool_use_id"]: block
            for body in self.bodies
            for message in body["messages"]
            if message["role"] == "user" and isinstance(message["content"], list)
            for block in cast(list[dict[str, Any]], message["content"])
            if block.get("type") == "tool_result"
        }
        return [found[f"toolu_{turn}"] for turn in range(len(self.calls)) if f"toolu_{turn}" in found]


@dataclass
class FakeResponses(_Scripted):
    """OpenAI's Responses API (POST /v1/responses): a function_call per scripted call, then a message. `strict`: the
    model fills in every property of the tool's parameters, null where the script gives none, as OpenAI's strict
    function calling makes a model do."""

    strict: bool = False

    def answer(self, body: dict[str, Any], turn: int) -> dict[str, Any]:
        if turn < len(self.calls):
            arguments = self.calls[turn]
            if self.strict:
                properties = cast(dict[str, Any], self.tool(body)["parameters"]["properties"])
                arguments = {name: arguments.get(name) for name in properties}
            output: list[dict[str, Any]] = [
                {
                    "type": "function_call",
                    "id": f"fc_{turn}",
                    "call_id": f"call_{turn}",
                    "name": TOOL,
                    "arguments": json.dumps(arguments),
                    "status": "completed",
                }
            ]
        else:
            text: dict[str, Any] = {"type": "output_text", "text": "Done.", "annotations": []}
            output = [{"type": "message", "id": "msg_0", "role": "assistant", "status": "completed", "content": [text]}]
        return {
            "id": f"resp_{turn}",
            "object": "response",
            "created_at": 0,
            "model": "gpt-stand-in",
            "status": "completed",
            "output": output,
            "parallel_tool_calls": False,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": 1,
                "output_tokens": 1,
                "total_tokens": 2,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
        }

    @staticmethod
    def tool(body: dict[str, Any]) -> dict[str, Any]:
        """The function tool generate_image as the library offered it to the model."""
        return next(tool for tool in body["tools"] if tool.get("name") == TOOL)

    def outputs(self) -> list[Any]:
        """The function_call_output of each call, in order: what the model read. Gathered from every request by
        call_id (the library sends the whole conversation each turn unless it chains responses)."""
        found: dict[str, Any] = {
            item["call_id"]: item["output"]
            for body in self.bodies
            for item in cast(list[Any], body["input"] if isinstance(body["input"], list) else [])
            if isinstance(item, dict) and cast(dict[str, Any], item).get("type") == "function_call_output"
        }
        return [found[f"call_{turn}"] for turn in range(len(self.calls)) if f"call_{turn}" in found]
