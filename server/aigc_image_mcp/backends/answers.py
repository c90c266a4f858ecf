"""The one reading of an upstream's HTTP answer, for every operation: the status, a body read up to a bound within
one overall deadline, JSON of bounded depth, and one scrub of every string in it. Each operation words the faults
its own way (a `Wording`); the classification is the same for all. Here upstream text enters the server: nothing
leaves this module without the caller's secrets, in every form `forms_of` knows, replaced by ***. The relay's
requests go out through `exchange`; the Tencent backend sends with Tencent's SDK (on httpx) and reads its answers
here too (`read_bounded`, `payload_of`)."""

from __future__ import annotations

import base64
import email.utils
import json
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Protocol, TypeVar, cast

import anyio
import httpx2
from pydantic import BaseModel, ValidationError

from ..errors import (
    UpstreamAuthError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimitError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from .wording import Wording

ANSWER_LIMIT = 1_048_576
"""Bytes of an answer read at most: Tencent's largest (a task detail with its image URLs) is a few KB."""
_EXCERPT = 200
_Model = TypeVar("_Model", bound=BaseModel)
_UNSENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
"""httpx2's failures before a request left us."""
_SHORTEST_CORE = 8
"""Characters a Base64 form of a secret must have to be scrubbed: a shorter run would match ordinary text."""


class Answer(Protocol):
    """What the reading needs of an HTTP response: httpx2's (the relay's) and httpx's (Tencent's SDK's) both fit."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...


@dataclass(frozen=True)
class Reading:
    """How one operation's answer is read: the secrets scrubbed from it, the wording of its faults, and more fields
    for the wording's templates (e.g. the task_id of a query)."""

    wording: Wording
    secrets: tuple[str, ...] = field(repr=False)
    facts: Mapping[str, object] = field(default_factory=lambda: {})

    def __post_init__(self) -> None:
        object.__setattr__(self, "secrets", every_form(self.secrets))


@dataclass(frozen=True)
class Call:
    """One request: what to send, with which secret, in how long overall, and how to word its faults."""

    method: str
    target: httpx2.URL | str
    """The URL, or a path on the client's base URL."""
    secret: str = field(repr=False)
    deadline: float
    wording: Wording
    body: dict[str, Any] | None = None
    facts: dict[str, str] = field(default_factory=lambda: {})
    """More fields for the wording's templates, e.g. the task_id of a query."""

    @cached_property
    def reading(self) -> Reading:
        return Reading(self.wording, (self.secret,), self.facts)


async def exchange(http: httpx2.AsyncClient, call: Call) -> Any:
    """The scrubbed JSON payload of a 2xx answer to `call`; a UpstreamError, scrubbed, for anything else."""
    headers = {"Authorization": f"Bearer {call.secret}"} if call.secret else {}
    with anyio.move_on_after(call.deadline):
        try:
            async with http.stream(call.method, call.target, headers=headers, json=call.body) as response:
                data, whole = await read_bounded(response)
                return payload_of(response, data, whole, call.reading)
        except httpx2.HTTPError as exc:
            raise connection_error(exc, call.reading, _UNSENT, httpx2.TimeoutException) from None
    raise missed_deadline(call.reading, call.deadline)  # only the deadline leaves the block without an answer


def parse(payload: Any, model: type[_Model], reading: Reading, status: int = 200) -> _Model:
    """`payload` read as `model`; a UpstreamError saying what the answer was instead."""
    try:
        return model.model_validate(payload)
    except (ValidationError, RecursionError):
        pass
    message = message_in(payload)
    if message is not None:
        raise UpstreamRejectedError(say(reading, reading.wording.said, message=message), status_code=status)
    raise UpstreamProtocolError(say(reading, reading.wording.unreadable, excerpt=excerpt(payload)), status_code=status)


async def read_bounded(response: Answer) -> tuple[bytes, bool]:
    """The body up to ANSWER_LIMIT bytes, and whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > ANSWER_LIMIT:
            return b"".join(chunks)[:ANSWER_LIMIT], False
    return b"".join(chunks), True


def payload_of(response: Answer, data: bytes, whole: bool, reading: Reading) -> Any:
    """The scrubbed JSON in `data` (the body of `response`, all of it if `whole`); a UpstreamError, scrubbed, for a
    status of 400 or more, a body over ANSWER_LIMIT, and one that is not JSON."""
    status, wording = response.status_code, reading.wording
    try:
        payload = _parsed(data, reading.secrets) if whole else None
        readable = whole
    except ValueError:
        payload, readable = None, False
    except RecursionError:
        if status < 400:
            raise UpstreamProtocolError(say(reading, wording.too_deep, status=status), status_code=status) from None
        payload, readable = None, False
    if status >= 400:
        raise _status_error(response, message_in(payload), reading)
    if not whole:
        raise UpstreamProtocolError(
            say(reading, wording.too_large, limit=ANSWER_LIMIT // 1_048_576), status_code=status
        )
    if not readable:
        kind = response.headers.get("content-type", "no content type")
        text = scrub(data.decode("utf-8", "replace"), *reading.secrets)
        raise UpstreamProtocolError(
            say(reading, wording.not_json, status=status, kind=kind, excerpt=excerpt(text)), status_code=status
        )
    return payload


def _parsed(data: bytes, secrets: tuple[str, ...]) -> Any:
    """The JSON in `data`, `secrets` scrubbed from it. Where the text holds no backslash, every string in the JSON
    is a piece of the text as it is: a text without any of the secrets needs no walk through it."""
    payload = json.loads(data)
    if b"\\" in data or any(secret.encode() in data for secret in secrets):
        return scrubbed(payload, *secrets)
    return payload


def _status_error(response: Answer, message: str | None, reading: Reading) -> UpstreamError:
    status, wording = response.status_code, reading.wording
    facts = {"status": status, "detail": f": {message[:_EXCERPT]}" if message else ""}
    if status in (401, 403):
        return UpstreamAuthError(say(reading, wording.refused_key, **facts), status_code=status)
    if status == 429:
        retry_after = retry_after_seconds(response)
        wait = f"Wait {retry_after:.0f} s" if retry_after is not None else "Wait a little"
        text = say(reading, wording.rate_limited, wait=wait, **facts)
        return UpstreamRateLimitError(text, status_code=status, retry_after=retry_after)
    if status >= 500:
        return UpstreamUnavailableError(say(reading, wording.failed, **facts), status_code=status)
    template = wording.not_found if status == 404 else wording.refused
    return UpstreamRejectedError(say(reading, template, **facts), status_code=status)


def connection_error(
    exc: Exception, reading: Reading, unsent: tuple[type[Exception], ...], timeout: type[Exception]
) -> UpstreamConnectionError:
    """The fault of a request that got no answer, from `exc` of either HTTP library (httpx2's for the relay, httpx's
    under Tencent's SDK), given that library's classes: `unsent`, the failures before the request left us (only
    those are sure to have created nothing), and `timeout`."""
    name = type(exc).__name__
    if isinstance(exc, unsent):
        return UpstreamConnectionError(say(reading, reading.wording.unsent, name=name), request_sent=False)
    what = "did not answer in time" if isinstance(exc, timeout) else f"dropped the connection ({name})"
    return UpstreamConnectionError(say(reading, reading.wording.sent, what=what, name=name), request_sent=True)


def missed_deadline(reading: Reading, deadline: float) -> UpstreamConnectionError:
    """The fault of a request whose answer did not arrive within the overall `deadline` (seconds)."""
    what = f"did not answer within {deadline:g} s"
    return UpstreamConnectionError(say(reading, reading.wording.sent, what=what, name=what), request_sent=True)


def say(reading: Reading, template: str, **facts: object) -> str:
    """`template` filled in with the reading's facts and `facts`."""
    return template.format_map({**reading.facts, **facts})


def message_in(payload: Any) -> str | None:
    """The error text of the three shapes relays use: Tencent's, OpenAI's, and new-api's."""
    for path in (("Response", "Error", "Message"), ("error", "message"), ("message",), ("error",), ("msg",)):
        value: Any = payload
        for part in path:
            value = cast(dict[str, Any], value).get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def retry_after_seconds(response: Answer) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def scrubbed(value: Any, *secrets: str) -> Any:
    """`value` (parsed JSON) with `secrets` replaced in every string, keys included."""
    if isinstance(value, str):
        return scrub(value, *secrets)
    if isinstance(value, list):
        return [scrubbed(item, *secrets) for item in cast(list[Any], value)]
    if isinstance(value, dict):
        return {scrub(k, *secrets): scrubbed(v, *secrets) for k, v in cast(dict[str, Any], value).items()}
    return value


def forms_of(secret: str) -> tuple[str, ...]:
    """The forms in which an upstream may echo `secret`: as sent, upper- and lower-cased, and in Base64 (standard or
    URL-safe) wherever it stands inside an encoded text, e.g. an echoed `Authorization: Basic` or a Base64 of
    `Bearer <secret>`. Not covered, and so possible still: mixed case, reversed or split secrets, other encodings
    (hex, percent-encoding)."""
    if not secret:
        return ()
    forms = {secret, secret.upper(), secret.lower()}
    data = secret.encode()
    for shift in range(3):  # the secret's offset within the encoded text, modulo Base64's 3-byte groups
        encoded = base64.b64encode(b"\0" * shift + data).decode()
        core = encoded[-(-shift * 4 // 3) : (shift + len(data)) // 3 * 4]  # only characters the secret alone makes
        if len(core) >= _SHORTEST_CORE:
            forms |= {core, core.replace("+", "-").replace("/", "_")}  # and its URL-safe form
    return tuple(forms)


@lru_cache(maxsize=16)
def every_form(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Every form of each of `secrets`, longest first, as a Reading scrubs them. Worked out once per set of secrets
    (a process pays with one key, or a few callers' keys over HTTP), not on every call: the Base64 forms take a
    dozen encodings. The cache holds no more than the settings or the calls already do, and never shows its keys."""
    return longest_first(form for secret in secrets for form in forms_of(secret))


def longest_first(secrets: Iterable[str]) -> tuple[str, ...]:
    """The non-empty `secrets`, each once, longest first: the order `scrub` wants (a secret inside another must not
    leave the rest of the longer one showing)."""
    return tuple(sorted({secret for secret in secrets if secret}, key=len, reverse=True))


def scrub(text: str, *secrets: str) -> str:
    """Upstreams sometimes echo the secrets they were sent; they must never travel further. Give the longest first
    (a `Reading` orders its own)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def excerpt(value: Any) -> str:
    """Up to 200 characters of `value` (text, or JSON shown as text), on one line, quoted."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    except RecursionError:
        text = "(JSON nested too deeply to show)"
    flat = " ".join(text.split())
    return json.dumps(flat[:_EXCERPT] + ("…" if len(flat) > _EXCERPT else ""), ensure_ascii=False)
