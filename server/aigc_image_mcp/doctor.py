"""`aigc-image-mcp doctor`: checks, in the order a first call needs them, what a user most often gets wrong, each
with the fix. Only calls that cost nothing: the upstream is asked about a task that does not exist, and its answer
says whether it is reachable, takes the credentials, and has the query route; then, where the upstream can say, about
the caps set on the account's AIGC use (shown when any are). Secrets are named, never shown."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import SecretStr, ValidationError

from .backends.base import Backend, Caller
from .backends.profiles import profile_of
from .callers import caller_of
from .config import Settings, variable_of
from .errors import (
    AigcImageError,
    ConfigError,
    HistoryError,
    NoSuchTaskError,
    TencentApiError,
    UpstreamAuthError,
    UpstreamConnectionError,
    UpstreamRateLimitError,
    UpstreamRejectedError,
)

if TYPE_CHECKING:
    import httpx2

PROBE_TASK_ID = "aigc-image-mcp-doctor-no-such-task"
"""The TaskId doctor asks about: no upstream has it, so a healthy one answers "no such task"."""
_AFTER_SETTINGS = ("credentials", "upstream", "credentials accepted", "query route", "data folder", "output folder",
                   "history")  # fmt: skip
Status = Literal["ok", "fail", "skipped"]
Query = Callable[[str], Awaitable[object]]
"""One look at a task by TaskId: the backend's query, bound to the caller."""


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it went, and what to do when it failed."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def settings_checks(overrides: Mapping[str, Any]) -> tuple[Settings | None, list[Check]]:
    """The settings from the environment (and `overrides`, the command line's flags): one line per problem."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        checks = [_bad_setting(error["loc"], error["msg"]) for error in exc.errors()]
        return None, checks
    return settings, [Check("settings", "ok", "every setting is valid")]


def credential_check(settings: Settings) -> tuple[Caller | None, Check]:
    """Which backend, and which credentials it found: by the variable's name only."""
    try:
        caller = caller_of(settings, None, remote=False)
    except ConfigError:
        fix = profile_of(settings).doctor_fix(settings)
        return None, Check("credentials", "fail", f"backend {settings.backend}; none found", fix)
    return caller, Check("credentials", "ok", f"backend {settings.backend}; found {_credentials_hint(settings)}")


async def upstream_checks(settings: Settings, query: Query) -> list[Check]:
    """Reachable, credentials accepted, query route present: from one query of a task that does not exist."""
    where = f"{settings.backend} at {profile_of(settings).endpoint(settings)}"
    try:
        await query(PROBE_TASK_ID)
    except NoSuchTaskError:
        return _all_good(settings, where)  # the healthy answer: it has no such task
    except TencentApiError as exc:
        return _classify_upstream(settings, where, exc)
    except AigcImageError as exc:
        return _classify_relay(settings, where, exc)
    return _all_good(settings, where)


def prices_check(prices: Path, settings: Settings) -> Check:
    """Whether the prices file reads and prices only models of the active backend, as the server checks at start."""
    from .core.prices import load_prices

    try:
        loaded = load_prices(prices, profile_of(settings).load_catalog(settings.models_file))
    except AigcImageError as exc:
        return Check("prices", "fail", str(exc), "fix the entry it names, or unset AIGC_IMAGE_PRICES")
    count = len(loaded.models)
    return Check("prices", "ok", f"{prices}: {count} model{'s' * (count != 1)} priced in {loaded.currency}")


def folder_check(name: str, folder: Path, variable: str) -> Check:
    """Whether a file can be created in `folder`, or the folder made; doctor itself makes nothing."""
    existing = next((place for place in (folder, *folder.parents) if place.exists()), None)
    if existing is not None and existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        made = "" if existing == folder else " (made with the first image)"
        return Check(name, "ok", f"{folder} is writable{made}")
    fix = f"set {variable} to a folder this user can write to, or fix the permissions of {existing or folder}"
    why = "not a folder" if existing is not None and not existing.is_dir() else "no permission to write"
    return Check(name, "fail", f"{folder} is not writable ({existing}: {why})", fix)


async def history_check(settings: Settings) -> Check:
    """Whether the task history (SQLite, or PostgreSQL when configured) opens and reads; a history file that does
    not exist yet is not made (the first call makes it in the data folder, checked before)."""
    from .history.opener import open_history

    if settings.database_url is None and not settings.history_file.exists():
        return Check("history", "ok", f"{settings.history_file} is made with the first call")
    try:
        history = open_history(settings)
    except ConfigError as exc:
        return Check("history", "fail", str(exc), "install what it names, or unset AIGC_IMAGE_DATABASE_URL")
    try:
        await history.recent("doctor", 1)
    except HistoryError as exc:
        return Check("history", "fail", str(exc), _HISTORY_FIX)
    finally:
        await history.aclose()
    return Check("history", "ok", f"{history.where} opens")


_HISTORY_FIX = "set AIGC_IMAGE_DATA_DIR to a writable folder (or fix AIGC_IMAGE_DATABASE_URL), or move the file"


def skipped(*names: str, why: str) -> list[Check]:
    return [Check(name, "skipped", why) for name in names]


def report(checks: list[Check], as_json: bool) -> str:
    """The report: one line per check (✓, ✗ with the fix, or - skipped), or JSON for scripts."""
    if as_json:
        return json.dumps({"ok": passed(checks), "checks": [asdict(check) for check in checks]}, indent=2)
    marks = {"ok": "✓", "fail": "✗", "skipped": "-"}
    lines = [f"{marks[c.status]} {c.name}: {c.detail}" + (f"\n    fix: {c.fix}" if c.fix else "") for c in checks]
    verdict = "Ready: a call has everything it needs." if passed(checks) else "Not ready: fix the ✗ lines above."
    return "\n".join([*lines, verdict])


def passed(checks: list[Check]) -> bool:
    return all(check.status == "ok" for check in checks)


def _bad_setting(loc: tuple[int | str, ...], message: str) -> Check:
    variable = variable_of(str(loc[0])) if loc else "settings"
    return Check("settings", "fail", f"{variable}: {message}", f"change {variable}, or unset it for the default")


def _credentials_hint(settings: Settings) -> str:
    found = [variable_of(name) for name, value in settings if isinstance(value, SecretStr) and name != "http_tokens"]
    return " and ".join(found) or "the credentials"


def _all_good(settings: Settings, where: str) -> list[Check]:
    return [
        Check("upstream", "ok", f"{where} answers"),
        Check("credentials accepted", "ok", f"{_credentials_hint(settings)} accepted"),
        Check("query route", "ok", f"{profile_of(settings).query_route(settings)} answers"),
    ]


def _classify_upstream(settings: Settings, where: str, exc: TencentApiError) -> list[Check]:
    reachable = Check("upstream", "ok", f"{where} answers")
    route = Check("query route", "fail", str(exc), "see the upstream's message; run doctor again once it is solved")
    return [reachable, Check("credentials accepted", "ok", "not refused"), route]


def _classify_relay(settings: Settings, where: str, exc: AigcImageError) -> list[Check]:
    reachable = Check("upstream", "ok", f"{where} answers")
    if isinstance(exc, UpstreamAuthError):
        fix = f"check {_credentials_hint(settings)}: a valid key with enough balance"
        return [reachable, Check("credentials accepted", "fail", str(exc), fix), *_not_checked()]
    if isinstance(exc, UpstreamRateLimitError):
        return [reachable, Check("credentials accepted", "fail", str(exc), "wait a minute and run doctor again")]
    profile = profile_of(settings)
    if isinstance(exc, UpstreamRejectedError) and exc.status_code == 404:
        fix = profile.route_fix(settings)
        route = Check("query route", "fail", f"{profile.query_route(settings)} is not found (HTTP 404)", fix)
        return [reachable, *skipped("credentials accepted", why="the query route is missing"), route]
    if isinstance(exc, UpstreamRejectedError):
        return [reachable, Check("query route", "fail", str(exc), "see the upstream's message")]
    fix = profile.endpoint_fix(settings)
    if isinstance(exc, UpstreamConnectionError):
        detail = f"{where} cannot be reached: {exc}"
    else:
        detail = f"{where} did not answer as {profile.api} does: {exc}"
    return [Check("upstream", "fail", detail, fix), *skipped("credentials accepted", "query route", why="no answer")]


def _not_checked() -> list[Check]:
    return skipped("query route", why="the credentials were refused first")


async def diagnose(overrides: Mapping[str, Any], transport: httpx2.AsyncBaseTransport | None = None) -> list[Check]:
    """Every check, in order; a check whose premise failed is skipped. `transport` replaces the network in tests."""
    settings, checks = settings_checks(overrides)
    if settings is None:
        return [*checks, *skipped(*_AFTER_SETTINGS, why="the settings do not parse")]
    if settings.prices is not None:  # the server would stop at start on a wrong one
        checks.append(prices_check(settings.prices, settings))
    caller, credentials = credential_check(settings)
    checks.append(credentials)
    if caller is None:
        checks += skipped("upstream", "credentials accepted", "query route", why="no credentials to check")
    else:
        checks += await _ask_upstream(settings, caller, transport)
    if settings.oauth_issuer is not None:
        checks.append(await identity_check(settings, transport))
    data = folder_check("data folder", settings.history_file.parent, "AIGC_IMAGE_DATA_DIR")
    output = folder_check("output folder", settings.images_dir, "AIGC_IMAGE_OUTPUT_DIR")
    history = await history_check(settings) if data.status == "ok" else skipped("history", why="no data folder")[0]
    return [*checks, data, output, history]


async def identity_check(settings: Settings, transport: httpx2.AsyncBaseTransport | None = None) -> Check:
    """OAuth mode: the settings' combination, then the issuer's metadata and signing keys, fetched as the server
    will fetch them."""
    import httpx2

    from .auth.keys import TIMEOUT, IssuerKeys
    from .auth.rules import ISSUER, oauth_config

    try:
        config = oauth_config(settings)
    except ConfigError as exc:
        return Check("identity provider", "fail", str(exc), "change the variable it names")
    if config is None:
        return Check("identity provider", "skipped", f"{ISSUER} is not set")
    keys = IssuerKeys(config.issuer, client=lambda: httpx2.AsyncClient(transport=transport, timeout=TIMEOUT))
    try:
        count = await keys.fetch()
    except (httpx2.HTTPError, ValueError) as exc:
        fix = f"check {ISSUER}: it must be the issuer exactly as the provider's metadata and tokens name it"
        return Check("identity provider", "fail", f"{config.issuer}: {exc}", fix)
    keys_found = f"{count} signing key" + ("s" * (count != 1))
    return Check("identity provider", "ok", f"{config.issuer}: metadata found, {keys_found}")


def main(overrides: Mapping[str, Any], as_json: bool) -> int:
    """Run every check, print the report; 0 only when a call has everything it needs."""
    import anyio

    checks = anyio.run(diagnose, overrides)
    print_report(checks, as_json)
    return 0 if passed(checks) else 1


async def _ask_upstream(settings: Settings, caller: Caller, transport: httpx2.AsyncBaseTransport | None) -> list[Check]:
    from .state import Upstream

    upstream = Upstream.open(settings, transport, agent="doctor")
    try:
        checks = await upstream_checks(settings, lambda task_id: upstream.backend.query(task_id, caller))
        return checks + (await _quotas(settings, upstream.backend) if passed(checks) else [])
    finally:
        await upstream.aclose()


async def _quotas(settings: Settings, backend: Backend) -> list[Check]:
    """A line for the caps set on the account's AIGC use (Tencent's DescribeAigcQuotas), when any are; none when
    there are none, the upstream has no such API, or it would not say (informative only, so never a failure)."""
    try:
        quotas = await backend.quotas()
    except AigcImageError:
        return []
    if not quotas:
        return []
    shown = "; ".join(f"{quota.kind}: {quota.used} of {quota.limit} used" for quota in quotas)
    return [Check("upstream quotas", "ok", f"the account's AIGC caps at {profile_of(settings).api}: {shown}")]


def print_report(checks: list[Check], as_json: bool) -> None:
    stdout: object = sys.stdout
    if isinstance(stdout, io.TextIOWrapper):
        stdout.reconfigure(errors="replace")  # ✓ and ✗ on a console that cannot show them
    try:
        print(report(checks, as_json), flush=True)  # noqa: T201 - the report is the command's output
    except BrokenPipeError:  # `doctor | head -2`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the exit's flush stays quiet
