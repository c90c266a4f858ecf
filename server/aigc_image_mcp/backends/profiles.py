"""What each backend declares about itself, for the code outside backends/: its credentials rule, its catalog of
models, where it answers, how doctor names and fixes its faults. Plain data and small rules, no I/O but reading its
catalog, and nothing heavy imported: it is read at start. Nothing outside backends/ (and config) asks which backend
runs; it asks the profile. (Tencent's error codes, which both backends meet, are in tencent_shapes.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from ..catalog.models import Catalog, load_catalog

if TYPE_CHECKING:
    import httpx2

    from ..config import Settings
    from .base import Backend


@dataclass(frozen=True)
class Credentials:
    """The server's own credentials, as a backend reads them from the settings."""

    pays: SecretStr | None
    """The key each call sends upstream; None when the backend signs with the settings' credentials itself."""
    names: SecretStr
    """The secret whose fingerprint names the server's history: never shown, only hashed."""


@dataclass(frozen=True)
class Profile:
    """One backend as the rest of the server sees it. Each backend is an instance of a subclass below."""

    name: str
    module: str
    """The module under backends/ that holds its Backend: imported only when the first call needs it."""
    catalog: str
    """Its built-in catalog of models: a JSON file in catalog/."""
    api: str
    """Its API as a person names it."""
    passes_bearer: bool
    """Over HTTP without credentials of the server's own, each caller's bearer token is its key (pass-through)."""
    own_figures: str
    """Where the upstream shows what it counted (and charged), for get_image_usage when it shows none of it."""

    def load_catalog(self, models_file: Path | None = None) -> Catalog:
        """Its catalog: the built-in one, with the models of `models_file` (AIGC_IMAGE_MODELS_FILE) added or replaced.
        A model id another backend spells differently is pointed out with that backend's name."""
        return load_catalog(
            self.catalog, models_file, kin={profile.name: profile.catalog for profile in PROFILES.values()}
        )

    def open(self, settings: Settings, http: httpx2.AsyncClient) -> Backend:
        """Its Backend, over the process's one HTTP client; its module is imported here, at the first call."""
        raise NotImplementedError

    def credentials(self, settings: Settings) -> Credentials | None:
        """The server's own credentials for this backend; None when they are not (all) set."""
        raise NotImplementedError

    def missing(self, settings: Settings) -> str:
        """A call's refusal when `credentials` is None (and no bearer key applies): what to set."""
        raise NotImplementedError

    def doctor_fix(self, settings: Settings) -> str:
        """doctor's fix when `credentials` is None."""
        raise NotImplementedError

    def endpoint(self, settings: Settings) -> str:
        raise NotImplementedError

    def own_url(self, settings: Settings) -> str | None:
        """Its endpoint as a URL, whose origin the server may fetch images from even on a private address; None
        when the setting names a host only."""
        url = self.endpoint(settings)
        return url if "://" in url else None

    def query_route(self, settings: Settings) -> str:
        raise NotImplementedError

    def endpoint_fix(self, settings: Settings) -> str:
        """What to check when the endpoint does not answer as this API does."""
        raise NotImplementedError

    def route_fix(self, settings: Settings) -> str:
        """What to check when the query route answers 404."""
        return self.endpoint_fix(settings)


class _QuickRouter(Profile):
    def open(self, settings: Settings, http: httpx2.AsyncClient) -> Backend:
        from .quickrouter import QuickRouter

        return QuickRouter(settings, http)

    def credentials(self, settings: Settings) -> Credentials | None:
        key = settings.api_key
        return None if key is None else Credentials(pays=key, names=key)

    def missing(self, settings: Settings) -> str:
        return (
            "No QuickRouter API key is configured, so no image can be generated. Set the environment variable "
            "QUICKROUTER_API_KEY for this server (in Claude Desktop: the extension's API key setting) and restart "
            "it; over HTTP, a client may instead send its own key as Authorization: Bearer."
        )

    def doctor_fix(self, settings: Settings) -> str:
        if settings.transport == "http":
            return (
                "no key on the server: each HTTP client sends its own key (pass-through). To check a key, run "
                "QUICKROUTER_API_KEY=<the key> aigc-image-mcp doctor"
            )
        return (
            "set QUICKROUTER_API_KEY to your QuickRouter API key from your QuickRouter account (https://quickrouter.ai)"
        )

    def endpoint(self, settings: Settings) -> str:
        return settings.base_url

    def query_route(self, settings: Settings) -> str:
        return f"GET {settings.query_path}"

    def endpoint_fix(self, settings: Settings) -> str:
        return "check QUICKROUTER_BASE_URL (the relay's API, e.g. https://api.quickrouter.ai) and the network"

    def route_fix(self, settings: Settings) -> str:
        return (
            f"set AIGC_IMAGE_QUERY_PATH to the relay's task-query route (now {settings.query_path}), or check "
            f"QUICKROUTER_BASE_URL (now {settings.base_url})"
        )


class _TencentCloud(Profile):
    def open(self, settings: Settings, http: httpx2.AsyncClient) -> Backend:
        from .tencentcloud import TencentCloud  # the SDK (and its httpx) is imported only for this backend

        return TencentCloud(settings)

    def credentials(self, settings: Settings) -> Credentials | None:
        if settings.secret_id is None or settings.secret_key is None:
            return None
        return Credentials(pays=None, names=settings.secret_id)

    def missing(self, settings: Settings) -> str:
        return (
            f"No Tencent Cloud credentials are configured ({_absent(settings)} not set), so no image can be "
            "generated. Set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY for this server and restart it."
        )

    def doctor_fix(self, settings: Settings) -> str:
        absent = _absent(settings)
        if " and " in absent:
            return f"set {absent} to an API key of your Tencent Cloud account"
        return f"set {absent} as well: the two together are an API key of your Tencent Cloud account"

    def endpoint(self, settings: Settings) -> str:
        return settings.tencentcloud_endpoint

    def query_route(self, settings: Settings) -> str:
        return "DescribeTaskDetail"

    def endpoint_fix(self, settings: Settings) -> str:
        return (
            "check AIGC_IMAGE_TENCENTCLOUD_ENDPOINT (Tencent's VOD API is vod.tencentcloudapi.com, or "
            "vod.intl.tencentcloudapi.com for international accounts) and the network"
        )

    def route_fix(self, settings: Settings) -> str:  # the line does not name the endpoint: the fix does
        return (
            f"check AIGC_IMAGE_TENCENTCLOUD_ENDPOINT (now {settings.tencentcloud_endpoint}; Tencent's VOD API is "
            "vod.tencentcloudapi.com) and the network"
        )


def _absent(settings: Settings) -> str:
    pairs = (("TENCENTCLOUD_SECRET_ID", settings.secret_id), ("TENCENTCLOUD_SECRET_KEY", settings.secret_key))
    return " and ".join(variable for variable, value in pairs if value is None) or "nothing"


PROFILES: dict[str, Profile] = {
    "quickrouter": _QuickRouter(
        "quickrouter",
        "quickrouter",
        "models.json",
        "the relay's API",
        passes_bearer=True,
        own_figures="What the relay charged is known only to QuickRouter: see your account at https://quickrouter.ai "
        "(its balance). The relay documents no API that reports usage, so these are this server's own counts.",
    ),
    "tencentcloud": _TencentCloud(
        "tencentcloud",
        "tencentcloud",
        "models-tencentcloud.json",
        "Tencent's VOD API",
        passes_bearer=False,
        own_figures="Tencent's own figures for the whole account (DescribeAigcUsageData) are shown only to the user "
        "at this server's machine (stdio, or HTTP from loopback); the VOD console shows them too.",
    ),
}


def profile_of(settings: Settings) -> Profile:
    """The profile of the backend the settings choose."""
    return PROFILES[settings.backend]


def holds_credential(settings: Settings) -> bool:
    """Whether the server pays with a credential of its own, or each HTTP caller with theirs (pass-through). A
    backend that never passes a bearer through counts as holding one, even unset: the call then says what to set."""
    profile = profile_of(settings)
    return not profile.passes_bearer or profile.credentials(settings) is not None
