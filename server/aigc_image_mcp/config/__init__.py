"""Settings, read once from the environment at start. The relay's own variables keep its name (QUICKROUTER_*);
everything else of ours has the AIGC_IMAGE_ prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from .environment import FromEnvironment, from_home

DEFAULT_BASE_URL = "https://api.quickrouter.ai"
DEFAULT_SUBMIT_PATH = "/tencent-vod/v1/aigc-image"
DEFAULT_QUERY_PATH = "/tencent-vod/v1/query/{task_id}"
DEFAULT_TENCENTCLOUD_ENDPOINT = "vod.tencentcloudapi.com"
DEFAULT_INLINE_BUDGET = 300_000
"""Characters of base64 the previews of one result may take: well under the 1 MB clients accept."""
APP_DIR = "aigc-image-mcp"
MIN_TOKEN_LENGTH = 16


class Settings(FromEnvironment):
    """The server's configuration. `api_key` is a SecretStr: it never appears in a repr or a log."""

    api_key: SecretStr | None = Field(
        default=None,
        validation_alias="QUICKROUTER_API_KEY",
        description="The QuickRouter API key; without it generate_image answers with an error saying so.",
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        validation_alias="QUICKROUTER_BASE_URL",
        description="Any relay that serves the same routes.",
    )
    submit_path: str = Field(default=DEFAULT_SUBMIT_PATH, pattern=r"^/")
    query_path: str = Field(
        default=DEFAULT_QUERY_PATH,
        pattern=r"^/.*\{task_id\}",
        description="The relay's task-query route; {task_id} stands for the TaskId.",
    )
    poll_interval: float = Field(
        default=5.0, gt=0, description="The longest pause between two queries of a running task, in seconds."
    )
    output_dir: Path | None = Field(
        default=None, description="Where images are saved; default: the user's Pictures folder, aigc-image-mcp."
    )
    inline: bool = Field(default=True, description="Whether results carry a small preview of each image.")
    inline_budget: int = Field(
        default=DEFAULT_INLINE_BUDGET,
        ge=10_000,
        le=900_000,
        description="Characters of base64 the previews of one result may take; clients reject results over 1 MB.",
    )
    data_dir: Path | None = Field(
        default=None, description="Where the task history database lives; default: the user data folder."
    )
    timeout: float = Field(default=30.0, gt=0, description="Seconds the relay has to answer in full.")
    connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for a connection.")
    download_timeout: float = Field(
        default=45.0, gt=0, description="Seconds one image download may take in all, redirects included."
    )
    schema_profile: Literal["portable", "full", "strict"] = Field(
        default="portable",
        validation_alias="AIGC_IMAGE_SCHEMA",
        description="portable: flat, every provider accepts it; full: adds the per-model rules; strict: for OpenAI "
        "strict mode (every property required, the optional ones nullable).",
    )
    resource_links: bool = Field(
        default=False,
        description="Whether results also carry a resource_link block per image URL (the URL is always in the text "
        "and the structured content); some clients fail a whole result on one.",
    )
    models_file: Path | None = Field(default=None, description="A JSON file of models added to the catalog.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Remote use (--transport http): see transport/.
    transport: Literal["stdio", "http"] = "stdio"
    host: str = Field(default="127.0.0.1", min_length=1, description="The address the HTTP server listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="0 picks a free port; the log says which.")
    workers: int = Field(default=1, ge=1, le=64, description="HTTP worker processes.")
    http_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(), description="Comma-separated bearer tokens clients must present when the server has its own key."
    )
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Host header values accepted besides loopback; a name without port takes any port."
    )
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Origin header values accepted besides loopback ones, e.g. https://app.example.com."
    )
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="Larger HTTP request bodies are refused (413).")
    body_timeout: float = Field(default=30.0, gt=0, description="Seconds a client has to send its request body.")
    body_min_rate: int = Field(
        default=1024,
        gt=0,
        description="Bytes per second a request body must average once header_timeout seconds are past; else 408.",
    )
    max_connections: int = Field(
        default=1000,
        ge=2,
        description="Open HTTP connections per worker; a new one closes the one waiting longest on its client (for a "
        "request or its body); none waiting: 503.",
    )
    max_connections_per_client: int = Field(
        default=50,
        ge=0,
        description="Open HTTP connections per client address; a new one past it closes that address's longest "
        "waiting. 0: no cap (behind a proxy, whose connections all come from one address).",
    )
    shutdown_timeout: float = Field(default=60.0, gt=0, description="Seconds in-flight calls get at shutdown.")

    # The upstream tasks run on: see backends/.
    backend: Literal["quickrouter", "tencentcloud"] = Field(
        default="quickrouter",
        description="Which upstream creates the images. Unset: the one whose credentials are present.",
    )

    # Tencent Cloud direct (backend tencentcloud), with Tencent's own variable names; local pictures (media/).
    secret_id: SecretStr | None = Field(default=None, validation_alias="TENCENTCLOUD_SECRET_ID")
    secret_key: SecretStr | None = Field(default=None, validation_alias="TENCENTCLOUD_SECRET_KEY")
    session_token: SecretStr | None = Field(
        default=None,
        validation_alias="TENCENTCLOUD_SESSION_TOKEN",
        description="Only with temporary credentials.",
    )
    vod_subapp_id: int | None = Field(
        default=None, ge=1, description="Sent as SubAppId; required for VOD accounts opened after 2023-12-25."
    )
    region: str = Field(default="", validation_alias="TENCENTCLOUD_REGION")
    tencentcloud_endpoint: str = Field(
        default=DEFAULT_TENCENTCLOUD_ENDPOINT,
        description="A host (vod.intl.tencentcloudapi.com for international accounts) or a full URL.",
    )
    input_dirs: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(), description="Folders local reference pictures may come from (comma-separated); default: home."
    )

    # Image downloads: see downloads.py.
    allow_private_urls: bool = Field(
        default=False,
        description="Also fetch images from loopback, link-local and private addresses, not only the upstream's own.",
    )

    # A team server: one history for several replicas, per-caller quotas.
    database_url: SecretStr | None = Field(
        default=None, description="postgresql://user:password@host/db keeps the history there instead of SQLite."
    )
    # What a call costs (core/prices.py): the operator's prices, and when to ask the user first.
    prices: Path | None = Field(
        default=None,
        description='A JSON file of prices per image, {"currency": "CNY", "models": {"<model id>": <price>}}; '
        "unset: results count images and never mention money.",
    )
    confirm_above: float | None = Field(
        default=None,
        ge=0,
        description="A generate_image call estimated above this (in the prices' currency, or in images without "
        "prices) asks the user first; unset: never asks.",
    )
    daily_task_limit: int | None = Field(default=None, ge=1, description="Tasks per caller per UTC day; unset: none.")
    daily_image_limit: int | None = Field(
        default=None, ge=1, description="Images asked for per caller per UTC day; unset: none."
    )
    rate_limit: int | None = Field(
        default=None, ge=1, description="HTTP requests per caller per minute; past it, 429 with Retry-After."
    )
    # Sign-in with the team's identity provider (OAuth 2.1 protected resource): checked in auth/.
    oauth_issuer: str | None = Field(default=None, description="The authorization server's issuer URL (https).")
    public_url: str | None = Field(
        default=None, description="The MCP endpoint's URL as clients reach it: the resource and required audience."
    )
    oauth_scope: str = Field(default="", description="Space-separated scopes every access token must carry.")
    # HTTP connections that cannot be hoarded (connections.py); max_connections above is their cap.
    header_timeout: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds a connection has to send a request's headers, new or idle between requests; then closed.",
    )

    @model_validator(mode="after")
    def _one_backend(self) -> Settings:
        # AIGC_IMAGE_BACKEND unset: the backend whose credentials are present; both present is ambiguous. Half of
        # Tencent's pair (and no relay key) still means Tencent: its errors then name the missing half.
        tencent = [value is not None for value in (self.secret_id, self.secret_key)]
        if "backend" in self.model_fields_set or not any(tencent) or (self.api_key is not None and not all(tencent)):
            return self
        if self.api_key is not None:
            raise ValueError(
                "both QUICKROUTER_API_KEY and TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY are set: choose one "
                "with AIGC_IMAGE_BACKEND=quickrouter or AIGC_IMAGE_BACKEND=tencentcloud"
            )
        object.__setattr__(self, "backend", "tencentcloud")  # frozen: set once, while validating
        return self

    @field_validator("input_dirs", mode="before")
    @classmethod
    def _paths(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(from_home(Path(item.strip())) for item in value.split(",") if item.strip())
        return value

    @field_validator("api_key", "secret_id", "secret_key", "session_token", mode="before")
    @classmethod
    def _blank_key_is_no_key(cls, value: object) -> object:
        # Keys are often pasted with spaces around them.
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("output_dir", "data_dir", "prices")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # A relative folder is taken from the home folder, not from wherever the client happened to start us.
        return None if value is None else from_home(value)

    @field_validator("http_tokens", "allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("http_tokens")
    @classmethod
    def _strong_tokens(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        if any(len(token.get_secret_value()) < MIN_TOKEN_LENGTH for token in value):
            raise ValueError(
                f"every token in AIGC_IMAGE_HTTP_TOKENS needs at least {MIN_TOKEN_LENGTH} characters; make one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("AIGC_IMAGE_DATABASE_URL must start with postgresql://, e.g. postgresql://user@host/db")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"QUICKROUTER_BASE_URL must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @property
    def images_dir(self) -> Path:
        """The folder images are saved in."""
        if self.output_dir is not None:
            return self.output_dir
        import platformdirs  # only needed once a result arrives: kept off the cold start

        return platformdirs.user_pictures_path() / APP_DIR

    @property
    def history_file(self) -> Path:
        """The SQLite file of the task history."""
        if self.data_dir is not None:
            return self.data_dir / "history.sqlite3"
        import platformdirs

        return platformdirs.user_data_path(APP_DIR, appauthor=False) / "history.sqlite3"


def variable_of(field_name: str) -> str:
    """The environment variable that sets `field_name` (errors name it: it is what the user can change)."""
    field = Settings.model_fields.get(field_name)
    alias = field.validation_alias if field is not None else None
    if isinstance(alias, str):
        return alias
    if field is None and field_name.isupper():
        return field_name  # already a variable's name
    return f"AIGC_IMAGE_{field_name.upper()}"
