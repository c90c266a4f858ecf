"""How the settings are read from the environment: each from its one documented variable, a setting left empty (or
left as a bundle host's unsubstituted placeholder) taken as unset, and fixed choices taken in any case."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, cast, get_args, get_origin

from pydantic import ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

_BOOLEANS = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0", "t", "f", "y", "n"})
"""What pydantic takes as a yes or a no, in any case."""
# An MCP bundle host leaves `${user_config.x}` as it is when the user set no value and the manifest has no default.
_PLACEHOLDER = re.compile(r"\$\{user_config\.[^}]*\}")


class _OneVariableEach(EnvSettingsSource):
    """The environment, each setting read from its one documented variable: one named by an alias (QUICKROUTER_*,
    TENCENTCLOUD_*, AIGC_IMAGE_SCHEMA) is not also read from AIGC_IMAGE_<field name>, which pydantic-settings adds
    when fields may be given by name (as the command line's flags and the tests give them). Overrides a method of
    pydantic-settings' own; tests/test_config.py fails if an upgrade changes it."""

    def _extract_field_info(
        self, field: FieldInfo, field_name: str, model_config: Any = None
    ) -> list[tuple[str, str, bool]]:
        found = super()._extract_field_info(field, field_name, model_config)
        return found[:1] if isinstance(field.validation_alias, str) else found


class FromEnvironment(BaseSettings):
    """Settings read the way a user sets them: AIGC_IMAGE_<name> (or the field's own variable), frozen once read."""

    model_config = SettingsConfigDict(
        env_prefix="AIGC_IMAGE_",
        frozen=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        hide_input_in_errors=True,  # a refused setting may be a key or a token: never echo it
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No .env file and no secrets folder is configured, so those two sources would read nothing: leaving them out
        # saves their set-up (a scan of the environment each) at every start.
        return init_settings, _OneVariableEach(settings_cls)

    @model_validator(mode="before")
    @classmethod
    def _unset_is_default(cls, data: Any) -> Any:
        # A bundle host passes a setting the user left empty as "" or as its unsubstituted placeholder: both
        # mean "not set", so the default applies instead of an error or a folder named "${user_config.x}".
        if not isinstance(data, dict):
            return data
        items = cast(dict[str, Any], data).items()
        return {key: value for key, value in items if not (isinstance(value, str) and _is_unset(value))}

    @field_validator("*", mode="before")
    @classmethod
    def _forgiving_choices(cls, value: object, info: ValidationInfo) -> object:
        # Every setting with a fixed set of values (a Literal, or a yes/no) takes any case and surrounding spaces:
        # a bundle's settings field is free text, and "Full" or " portable" must not stop the server.
        field = cls.model_fields.get(info.field_name or "")
        return value if field is None else forgiving(value, field.annotation)


def from_home(path: Path) -> Path:
    """`path` with ~ expanded; a relative one taken from the home folder."""
    path = path.expanduser()
    return path if path.is_absolute() else Path.home() / path


def forgiving(value: object, annotation: object) -> object:
    """`value` as the choice of `annotation` (a Literal of strings, or bool) it names in any case, spaces around."""
    if not isinstance(value, str):
        return value
    if annotation is bool:
        if value.strip().casefold() not in _BOOLEANS:
            raise ValueError(f"{value.strip()!r} is not one of {', '.join(sorted(_BOOLEANS))}")
        return value.strip()
    if get_origin(annotation) is Literal:
        choices = {str(choice).casefold(): choice for choice in get_args(annotation)}
        return choices.get(value.strip().casefold(), value)
    return value


def _is_unset(value: str) -> bool:
    return not value.strip() or _PLACEHOLDER.fullmatch(value.strip()) is not None
