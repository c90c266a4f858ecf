"""Downloading a finished image from the URL the upstream names. Knows nothing of MCP.

The URL comes from the network, so it is treated as hostile: only http(s), a bounded size, and no address inside the
operator's own network (loopback, link-local such as a cloud's metadata service, private ranges) unless it is the
configured upstream's own origin or the operator allows it. Each redirect is checked before it is followed, and a
host name is checked on every address it resolves to. (A name that resolves differently at connect time, DNS
rebinding, is not covered: that needs a pinned connection, which httpx2 does not offer.)"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from ..errors import ImageError

if TYPE_CHECKING:
    import httpx2

MAX_BYTES = 50 * 1024 * 1024
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""The addresses a host name stands for."""


async def _resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class UrlPolicy:
    """Which image URLs may be fetched."""

    trusted: frozenset[str] = frozenset()
    """Origins (`https://host:port`) fetched wherever they are: the configured upstream's own."""
    allow_private: bool = False
    """AIGC_IMAGE_ALLOW_PRIVATE_URLS: fetch from private and local addresses too."""
    resolve: Resolver = field(default=_resolve, compare=False)


def origin(url: str | httpx2.URL) -> str:
    """`scheme://host:port` of `url`, with the scheme's default port written out."""
    import httpx2

    parsed = httpx2.URL(url) if isinstance(url, str) else url
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}:{port}"


async def download(http: httpx2.AsyncClient, url: str, policy: UrlPolicy, *, deadline: float) -> bytes:
    """The bytes at `url`, following redirects that the policy allows, all within `deadline` s (the client's timeout
    bounds each read, not a host that trickles); ImageError when they cannot be had."""
    with anyio.move_on_after(deadline):
        return await _download(http, url, policy)
    raise ImageError(f"the download did not finish within {deadline:g} s")


async def _download(http: httpx2.AsyncClient, url: str, policy: UrlPolicy) -> bytes:
    import httpx2  # here: render.py imports images.py, which imports this, on the server's start path

    target = _parse(url)
    for _ in range(MAX_REDIRECTS + 1):
        await _check(target, policy)
        try:
            async with http.stream("GET", target, headers={"Accept": "image/*"}) as response:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    target = _parse(str(response.url.join(response.headers["location"])))
                    continue
                if response.status_code != 200:
                    raise ImageError(f"the image server answered HTTP {response.status_code}")
                return await _read(response)
        except httpx2.HTTPError as exc:
            raise ImageError(f"the download failed ({type(exc).__name__})") from None
    raise ImageError(f"the image server redirected more than {MAX_REDIRECTS} times")


def _parse(url: str) -> httpx2.URL:
    import httpx2

    if not url.lower().startswith(("http://", "https://")):
        raise ImageError(f"only http(s) URLs are downloaded, not {url[:60]!r}")
    try:
        parsed = httpx2.URL(url)
    except (httpx2.InvalidURL, ValueError, TypeError):
        raise ImageError(f"the URL is not valid ({url[:80]!r})") from None
    if not parsed.host:
        raise ImageError(f"the URL is not valid ({url[:80]!r})")
    return parsed


async def _check(url: httpx2.URL, policy: UrlPolicy) -> None:
    """ImageError unless `url` may be fetched under `policy`."""
    if policy.allow_private or origin(url) in policy.trusted:
        return
    try:
        addresses = [ipaddress.ip_address(url.host)]
    except ValueError:  # a name, not an address
        try:
            resolved = await policy.resolve(url.host, url.port or 443)
            addresses = [ipaddress.ip_address(item.split("%")[0]) for item in resolved]
        except (OSError, ValueError):
            raise ImageError(f"the image host {url.host[:60]!r} could not be resolved") from None
    if not addresses or any(_private(address) for address in addresses):
        raise ImageError(
            f"{origin(url)} is not fetched: it is on a private or local address, and only the configured upstream's "
            "own may be (the server's operator can allow all with AIGC_IMAGE_ALLOW_PRIVATE_URLS=true)"
        )


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


async def _read(response: httpx2.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise ImageError(f"the image is larger than {MAX_BYTES // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)
