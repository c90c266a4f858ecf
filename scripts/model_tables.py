"""The model table of each backend, generated from its catalog (a test keeps the documentation's copy in step).

uv run python scripts/model_tables.py    # prints both tables, to paste between their markers
"""

from __future__ import annotations

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.models import Catalog, ModelSpec

_HEADER = (
    "| `model` | What it is | Good for | Reference images | `resolution` | `aspect_ratio` | Images per task | "
    "`scene_type` |\n|---|---|---|---|---|---|---|---|"
)


def model_table(catalog: Catalog) -> str:
    """One Markdown row per model: its rules as the server enforces them."""
    return "\n".join([_HEADER, *(_row(spec) for spec in catalog.models)])


def _row(spec: ModelSpec) -> str:
    references = str(spec.max_reference_images) + (", described" * spec.reference_image_descriptions)
    references += ", + mask_image" * spec.mask_image
    cells = [
        f"`{spec.id}`",
        spec.label or "—",
        spec.guidance or "—",
        references,
        _values(spec.resolutions),
        _values(spec.aspect_ratios),
        f"1-{spec.max_output_images}" if spec.max_output_images else "1",
        _values(spec.scene_types),
    ]
    return "| " + " | ".join(cells) + " |"


def _values(values: tuple[str, ...]) -> str:
    return ", ".join(values) if values else "—"


if __name__ == "__main__":
    for name, profile in sorted(PROFILES.items()):
        print(f"<!-- models:{name} -->\n{model_table(profile.load_catalog())}\n<!-- /models:{name} -->\n")
