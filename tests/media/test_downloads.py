"""The download of an image URL from the network: which addresses it may reach, hop by hop."""

from __future__ import annotations

import httpx2
import pytest

from aigc_image_mcp.errors import ImageError
from aigc_image_mcp.media.downloads import MAX_REDIRECTS, UrlPolicy, download

from ..support.fake_relay import png
from ..support.helpers import trickling

pytestmark = pytest.mark.anyio


def resolver(*addresses: str) -> UrlPolicy:
    async def resolve(host: str, port: int) -> list[str]:
        if not addresses:
            raise OSError("no such name")
        return list(addresses)

    return UrlPolicy(resolve=resolve)


async def fetch(url: str, policy: UrlPolicy, seen: list[str], answer: httpx2.Response | None = None) -> bytes:
    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return answer or httpx2.Response(200, content=png())

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http:
        return await download(http, url, policy, deadline=5)


async def test_a_name_that_resolves_to_public_addresses_is_fetched() -> None:
    seen: list[str] = []
    assert await fetch("https://cdn.example/a.png", resolver("93.184.216.34", "2606:2800:220:1::1"), seen) == png()
    assert seen == ["https://cdn.example/a.png"]


@pytest.mark.parametrize("addresses", [("93.184.216.34", "10.0.0.1"), ("fe80::1%eth0",), ("100.64.0.1",), ()])
async def test_a_name_with_any_private_or_unknown_address_is_not_fetched(addresses: tuple[str, ...]) -> None:
    seen: list[str] = []
    with pytest.raises(ImageError, match=r"is not fetched|could not be resolved"):
        await fetch("https://cdn.example/a.png", resolver(*addresses), seen)
    assert seen == []


async def test_a_trusted_origin_is_fetched_on_a_private_address_without_resolving_it() -> None:
    seen: list[str] = []
    policy = UrlPolicy(trusted=frozenset({"http://10.0.0.5:8080"}), resolve=resolver().resolve)
    await fetch("http://10.0.0.5:8080/files/a.png", policy, seen)
    with pytest.raises(ImageError, match="is not fetched"):
        await fetch("http://10.0.0.5:9000/files/a.png", policy, seen)
    assert seen == ["http://10.0.0.5:8080/files/a.png"]


async def test_endless_redirects_end_with_a_reason() -> None:
    seen: list[str] = []
    loop = httpx2.Response(302, headers={"location": "/again"})
    with pytest.raises(ImageError, match=f"redirected more than {MAX_REDIRECTS} times"):
        await fetch("https://cdn.example/a.png", resolver("93.184.216.34"), seen, loop)
    assert len(seen) == MAX_REDIRECTS + 1


@pytest.mark.slow
async def test_a_host_trickling_an_image_is_cut_off_at_the_overall_deadline() -> None:
    with trickling(png(64, 64), "image/png", every=0.05) as (url, sent):
        async with httpx2.AsyncClient(timeout=5) as http:
            with pytest.raises(ImageError, match=r"the download did not finish within 0\.5 s"):
                await download(http, url + "/a.png", UrlPolicy(allow_private=True), deadline=0.5)

    assert 0 < sent[0] < len(png(64, 64)), "each byte came within the read timeout: only the deadline ended it"
