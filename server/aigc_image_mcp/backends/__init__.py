"""The upstreams a task can run on, each in a room of its own behind one interface (base.Backend). Only the chosen
backend's module is imported, and only when the first call needs it: the others stay off the server's start."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

    from ..config import Settings
    from .base import Backend


def open_backend(settings: Settings, http: httpx2.AsyncClient) -> Backend:
    """The backend `settings.backend` names, over the process's one HTTP client."""
    from .profiles import profile_of

    return profile_of(settings).open(settings, http)
