"""The docs' model tables are the catalogs' own, and the Tencent Cloud tool stays within its size limit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.schema import input_schema, tool_description
from aigc_image_mcp.core.prices import load_prices
from scripts.model_tables import model_table

MODELS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "models.md"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("backend", sorted(PROFILES))
def test_the_docs_model_table_is_the_one_generated_from_the_catalog(backend: str) -> None:
    text = MODELS_PAGE.read_text(encoding="utf-8")
    found = re.search(rf"<!-- models:{backend} -->\n(.*?)\n<!-- /models:{backend} -->", text, re.DOTALL)

    assert found is not None, f"docs/models.md has no <!-- models:{backend} --> … <!-- /models:{backend} --> block"
    assert found.group(1) == model_table(PROFILES[backend].load_catalog())


@pytest.mark.parametrize("backend", sorted(PROFILES))
def test_generate_image_stays_within_8_kb_for_the_model_in_the_portable_profile(backend: str) -> None:
    catalog = PROFILES[backend].load_catalog()
    size = len(("generate_image" + tool_description(catalog) + json.dumps(input_schema(catalog))).encode())

    assert size <= 8192


@pytest.mark.parametrize("backend", sorted(PROFILES))
def test_it_stays_within_8_kb_with_the_example_prices_pricing_every_model(backend: str) -> None:
    catalog = PROFILES[backend].load_catalog()
    labels = load_prices(EXAMPLES / f"prices-{backend}.json", catalog).labels(catalog.ids)
    description = tool_description(catalog, prices=labels)
    size = len(("generate_image" + description + json.dumps(input_schema(catalog))).encode())

    assert set(labels) == set(catalog.ids), "the example prices every model of its backend"
    assert all(f"; {labels[spec.id]}." in description for spec in catalog.models)
    assert size <= 8192
