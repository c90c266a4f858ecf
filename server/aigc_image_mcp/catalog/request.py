"""The request for one task as typed models, backend-neutral: Tencent's field names in snake_case. validation.py
builds it; each backend maps it to its own wire (the relay takes it as it is).

Kept apart from the backends so that validating arguments needs no HTTP client (httpx2 stays off the server's start).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FileInfo(BaseModel):
    """One reference image, as the relay's `file_infos[]` entry."""

    type: Literal["Url", "File", "Base64"]
    url: str | None = None
    file_id: str | None = None
    base64: str | None = None
    """The re-encoded picture, without a data: prefix; filled in by media/pictures.py from `source`."""
    text: str | None = None
    reference_type: Literal["mask"] | None = None
    source: str | None = Field(default=None, exclude=True)
    """The local path or data: URI the user gave; never sent."""


class OutputConfig(BaseModel):
    """The relay's `output_config`; a field left None is not sent."""

    storage_mode: str | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    person_generation: str | None = None
    input_compliance_check: str | None = None
    output_compliance_check: str | None = None
    output_image_count: int | None = None
    output_format: str | None = None
    logo_add: str | None = None


class SubmitRequest(BaseModel):
    """One task as asked for. A new Tencent field becomes a new optional snake_case field here."""

    model_name: str
    model_version: str
    prompt: str
    negative_prompt: str | None = None
    enhance_prompt: str | None = None
    file_infos: list[FileInfo] | None = None
    output_config: OutputConfig | None = None
    session_id: str | None = None
    session_context: str | None = None
    tasks_priority: int | None = None
    ext_info: str | None = None
    seed: int | None = None
    input_region: str | None = None
    scene_type: str | None = None


def images_asked(request: SubmitRequest) -> int:
    """The images a task is asked for: its output_image_count, given only to a model that takes it; else one."""
    count = request.output_config.output_image_count if request.output_config is not None else None
    return count or 1
