"""The model catalog: which model takes which values. The data is models.json; every rule derives from it."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import CatalogError

_Values = tuple[str, ...]
_Model = TypeVar("_Model", bound=BaseModel)


class ModelSpec(BaseModel):
    """One model_name/model_version pair and what it accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="The value of the tool's `model` argument.")
    model_name: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    label: str = ""
    max_reference_images: int = Field(ge=0, le=100)
    reference_image_descriptions: bool = False
    resolutions: _Values = Field(min_length=1)
    aspect_ratios: _Values = ()


class Options(BaseModel):
    """The closed values of the arguments every model shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enhance_prompt: _Values = Field(min_length=1)
    person_generation: _Values = Field(min_length=1)
    input_compliance_check: _Values = Field(min_length=1)
    output_compliance_check: _Values = Field(min_length=1)
    storage_mode: _Values = Field(min_length=1)


class Catalog(BaseModel):
    """Every model the server offers, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    options: Options
    models: tuple[ModelSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Catalog:
        ids = [spec.id for spec in self.models]
        if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"model ids must be unique; repeated: {', '.join(duplicates)}")
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(spec.id for spec in self.models)

    def get(self, model_id: str) -> ModelSpec | None:
        return next((spec for spec in self.models if spec.id == model_id), None)

    def find(self, model_name: str | None, model_version: str | None) -> ModelSpec | None:
        """The model an upstream names by its model_name and model_version, if the catalog has it."""
        return next((s for s in self.models if (s.model_name, s.model_version) == (model_name, model_version)), None)

    def accepting(self, attribute: str) -> tuple[str, ...]:
        """Ids of the models whose `attribute` is truthy (a non-empty list, a positive count, True)."""
        return tuple(spec.id for spec in self.models if getattr(spec, attribute))


class _Overlay(BaseModel):
    """A user's models file: models added to the built-in catalog, or replacing one with the same id."""

    model_config = ConfigDict(extra="forbid")

    models: tuple[ModelSpec, ...] = Field(min_length=1)


def load_catalog(models_file: Path | None = None) -> Catalog:
    """The built-in catalog, with the models of `models_file` added or replaced by id."""
    builtin = resources.files(__name__.rpartition(".")[0]).joinpath("models.json").read_text(encoding="utf-8")
    catalog = Catalog.model_validate_json(builtin)
    if models_file is None:
        return catalog
    overlay = _parse(_Overlay, _read(models_file), models_file)
    replaced = {spec.id: spec for spec in overlay.models}
    kept = [replaced.get(spec.id, spec) for spec in catalog.models]
    added = [spec for spec in overlay.models if catalog.get(spec.id) is None]
    return _parse(Catalog, {"options": catalog.options, "models": [*kept, *added]}, models_file)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"AIGC_IMAGE_MODELS_FILE: cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise CatalogError(f"AIGC_IMAGE_MODELS_FILE: {path} is not valid JSON: {exc}") from exc


def _parse(model: type[_Model], data: Any, path: Path) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'top level'}: {e['msg']}" for e in exc.errors())
        raise CatalogError(f"AIGC_IMAGE_MODELS_FILE: {path} is not a valid models file: {details}") from exc
