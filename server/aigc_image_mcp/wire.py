"""The body of the relay's submit call as typed models: what arguments.py builds and relay.py sends.

Kept apart from relay.py so that validating arguments needs no HTTP client (httpx2 stays off the server's start).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class FileInfo(BaseModel):
    """One reference image, as the relay's `file_infos[]` entry."""

    type: Literal["Url", "File"]
    url: str | None = None
    file_id: str | None = None
    text: str | None = None


class OutputConfig(BaseModel):
    """The relay's `output_config`; a field left None is not sent."""

    storage_mode: str | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    person_generation: str | None = None
    input_compliance_check: str | None = None
    output_compliance_check: str | None = None


class SubmitRequest(BaseModel):
    """The body of `POST /tencent-vod/v1/aigc-image`, in the relay's snake_case names."""

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

    def body(self) -> dict[str, Any]:
        """The JSON body: only what the caller gave."""
        return self.model_dump(mode="json", exclude_none=True)
