"""google-genai (in the legacy environment: it pins tenacity<9.2, below the server's own): a typed
FunctionDeclaration built from generate_image's schema as the server lists it, with no request sent. Gemini's typed
`Schema` takes the portable profile (the default) whole; it refuses the full profile's root if/then/else, which is
why the full profile is opt-in (docs/configuration.md, AIGC_IMAGE_SCHEMA)."""

from __future__ import annotations

from typing import Any, cast

import anyio
import pytest

from .servers import input_schemas, run_legacy
from .stand_ins import TOOL

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def declared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("genai")
    schemas = {profile: anyio.run(input_schemas, folder / profile, profile)[TOOL] for profile in ("portable", "full")}
    answer = cast(dict[str, Any], run_legacy("genai", {"schemas": schemas}, folder))
    return {"schemas": schemas, **answer}


def test_the_portable_schema_becomes_a_function_declaration_with_every_property(declared: dict[str, Any]) -> None:
    schema = declared["schemas"]["portable"]
    assert "accepted" in declared["portable"], declared["portable"]
    (declaration,) = declared["portable"]["accepted"]["function_declarations"]
    parameters = declaration["parameters"]
    assert parameters["type"] == "OBJECT"
    assert set(parameters["properties"]) == set(schema["properties"])
    assert parameters["required"] == schema["required"]
    assert parameters["properties"]["model"]["enum"] == schema["properties"]["model"]["enum"]


def test_the_full_profile_is_refused_by_the_typed_schema_as_documented(declared: dict[str, Any]) -> None:
    refused = declared["full"].get("refused", "")
    assert "parameters.if" in refused, declared["full"]  # pydantic names the keyword Schema does not take
