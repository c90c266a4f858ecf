"""The model catalog: which model takes which values. The data is models.json; every rule derives from it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import CatalogError

_Values = tuple[str, ...]
_Model = TypeVar("_Model", bound=BaseModel)


class ModelSpec(BaseModel):
    """One model_name/model_version pair and what it accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="The value of the tool's `model` argument.")
    model_name: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    label: str = ""
    guidance: str = Field(default="", description="What the model is good for: one clause in the tool description.")
    note: str = Field(default="", description="Where a rule comes from, when the upstream's docs leave it open.")
    max_reference_images: int = Field(ge=0, le=100)
    reference_image_descriptions: bool = False
    resolutions: _Values = ()
    aspect_ratios: _Values = ()
    max_output_images: int = Field(default=0, ge=0, le=100, description="output_image_count 1..this; 0: not taken.")
    scene_types: _Values = ()
    mask_image: bool = False


class Options(BaseModel):
    """The closed values of the arguments every model shares."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    enhance_prompt: _Values = Field(min_length=1)
    person_generation: _Values = Field(min_length=1)
    input_compliance_check: _Values = Field(min_length=1)
    output_compliance_check: _Values = Field(min_length=1)
    storage_mode: _Values = Field(min_length=1)
    # Offered by one upstream only: empty (or False) leaves the argument out of the schema.
    output_format: _Values = ()
    logo_add: _Values = ()
    input_region: _Values = ()
    seed: bool = False


class Catalog(BaseModel):
    """Every model the server offers, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    service: str = "Tencent Cloud VOD AIGC models through the QuickRouter relay"
    """How the tool description names where the images are made."""
    decisions: tuple[str, ...] = ()
    """Where the upstream's docs contradict themselves, what the catalog does and why."""
    options: Options
    models: tuple[ModelSpec, ...] = Field(min_length=1)
    kin: tuple[tuple[str, str], ...] = Field(default=(), exclude=True)
    """Every backend's built-in catalog file, by backend name (load_catalog fills it in; no catalog file has it)."""

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Catalog:
        ids = [spec.id for spec in self.models]
        if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"model ids must be unique; repeated: {', '.join(duplicates)}")
        return self

    # The catalog is frozen: what derives from it is worked out once, not on every call.
    @cached_property
    def ids(self) -> tuple[str, ...]:
        return tuple(spec.id for spec in self.models)

    @cached_property
    def by_id(self) -> Mapping[str, ModelSpec]:
        return {spec.id: spec for spec in self.models}

    def get(self, model_id: str) -> ModelSpec | None:
        """The model of this id, in any case (`gem-3.0` is GEM-3.0)."""
        return self.by_id.get(model_id) or self._by_folded_id.get(model_id.casefold())

    @cached_property
    def _by_folded_id(self) -> Mapping[str, ModelSpec]:
        return {spec.id.casefold(): spec for spec in self.models}

    def find(self, model_name: str | None, model_version: str | None) -> ModelSpec | None:
        """The model an upstream names by its model_name and model_version, if the catalog has it."""
        return next((s for s in self.models if (s.model_name, s.model_version) == (model_name, model_version)), None)

    @cached_property
    def memo(self) -> dict[str, Any]:
        """What other modules work out once from this frozen catalog (generate.offered), kept with it."""
        return {}

    def accepting(self, attribute: str) -> tuple[str, ...]:
        """Ids of the models whose `attribute` is truthy (a non-empty list, a positive count, True)."""
        return tuple(spec.id for spec in self.models if getattr(spec, attribute))


class _Overlay(BaseModel):
    """A user's models file: models added to the built-in catalog, or replacing one with the same id."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    models: tuple[ModelSpec, ...] = Field(min_length=1)


def load_catalog(file: str, models_file: Path | None = None, kin: Mapping[str, str] | None = None) -> Catalog:
    """The built-in catalog `file` (a backend declares its own: backends/profiles.py), with the models of
    `models_file` added or replaced by id. `kin`: every backend's built-in catalog file by backend name, where
    near_miss looks for a model id this catalog spells differently."""
    catalog = builtin_catalog(file)
    if models_file is not None:
        overlay = _parse(_Overlay, _read(models_file), models_file)
        replaced = {spec.id: spec for spec in overlay.models}
        kept = [replaced.get(spec.id, spec) for spec in catalog.models]
        added = [spec for spec in overlay.models if catalog.get(spec.id) is None]
        merged = catalog.model_dump(exclude={"models", "kin"}) | {"models": [*kept, *added]}
        catalog = _parse(Catalog, merged, models_file)
    return catalog.model_copy(update={"kin": tuple((kin or {}).items())}) if kin else catalog


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


def near_miss(value: str, catalog: Catalog) -> str:
    """A hint for a model id `catalog` does not offer: the same model under this catalog's id (the backends name
    some models differently), or the nearest id; "" when there is none."""
    import difflib  # only for a refused model id: not on the server's start

    for backend, file in catalog.kin:
        spec = builtin_catalog(file).get(value)
        same = next((s for s in catalog.models if spec is not None and s.label and s.label == spec.label), None)
        if spec is not None and same is not None and same.id != spec.id:
            return f" here: {spec.id} is the {backend} backend's name for {spec.label}, which this one calls {same.id}"
    close = difflib.get_close_matches(value.casefold(), [i.casefold() for i in catalog.ids], n=1, cutoff=0.6)
    return f" (did you mean {next(i for i in catalog.ids if i.casefold() == close[0])}?)" if close else ""


@cache
def builtin_catalog(file: str) -> Catalog:
    """A built-in catalog, read once (near_miss looks in each on every unknown model id). It ships with the package
    and tests/catalog check that it reads the same as `checked_builtin(file)`, so it is taken as it is, without
    validation: the catalog's models build their validators only for a user's models file, not at every start."""
    data = json.loads(_builtin_text(file))
    options = Options.model_construct(**_tuples(data["options"]))
    models = tuple(ModelSpec.model_construct(**_tuples(spec)) for spec in data["models"])
    fields: dict[str, Any] = {**_tuples(data), "options": options, "models": models}
    return Catalog.model_construct(**fields)


def checked_builtin(file: str) -> Catalog:
    """A built-in catalog, validated as a models file is."""
    return Catalog.model_validate_json(_builtin_text(file))


def _builtin_text(file: str) -> str:
    return resources.files(__name__.rpartition(".")[0]).joinpath(file).read_text(encoding="utf-8")


def _tuples(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its lists as tuples, as validation makes them."""
    return {key: tuple(cast(list[Any], value)) if isinstance(value, list) else value for key, value in data.items()}
