"""Writes the tools' output schemas, worked out from the result models, to the file the server ships and reads
(results.py; a test fails while the file differs from the models).

uv run python scripts/output_schemas.py
"""

from __future__ import annotations

import json
from importlib import resources

from aigc_image_mcp import results
from aigc_image_mcp.results import SHIPPED, TaskList, TaskResult, Usage, derived_schema

MODELS = (TaskResult, TaskList, Usage)
"""The models that are a tool's outputSchema."""


def shipped_text() -> str:
    """The file's text: each model's derived schema, by model name."""
    return json.dumps({model.__name__: derived_schema(model) for model in MODELS}, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    target = resources.files(results.__name__.rpartition(".")[0]).joinpath(SHIPPED)
    with resources.as_file(target) as path:
        path.write_text(shipped_text(), encoding="utf-8")
    print(f"wrote {path}")
