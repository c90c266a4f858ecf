"""What many tests share: the TaskId of Tencent's documented example, and how a tool result is read."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent

TASK = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
"""A TaskId in Tencent's documented form: `<SubAppId>-AigcImageTask-<32 hex>t`."""


def text_of(result: CallToolResult) -> str:
    """The text a model reads from a tool result."""
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def structured(result: CallToolResult) -> dict[str, Any]:
    """A tool result's structured content; a failed assertion shows the text when there is none."""
    assert result.structured_content is not None, text_of(result)
    return result.structured_content
