"""`fetch` against a real HTTP server on 127.0.0.1 (allow-listed) and forbidden redirects."""

import io
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from mcp_servers.settings import WebSettings
from mcp_servers.web import AddressPolicy, Fetcher, FetchFailed, Refused, build_server
from tests.mcp_servers.conftest import ThreadServer, make_settings

pytestmark = pytest.mark.anyio

ARTICLE = (
    "<html><head><title>Refund policy</title></head><body><nav><a href='/'>Home</a></nav>"
    "<article><h1>Refunds</h1>"
    + "<p>Enterprise customers get a full refund within thirty days of purchase. " * 6
    + "</p><h2>Shipping</h2><p>We ship worldwide. " * 8
    + "</p><p>See <a href='/terms'>the terms</a>.</p></article><footer>(c) 2026</footer>"
    "</body></html>"
)


def _pdf() -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=300, height=300)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 20 200 Td (Quarterly revenue grew nine percent) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def _slow(request: Request) -> Response:
    await anyio.sleep(5)
    return PlainTextResponse("late")


def _app(port_holder: dict[str, int]) -> Starlette:
    def url(path: str) -> str:
        return f"http://127.0.0.1:{port_holder['port']}{path}"

    routes = [
        Route("/article", lambda r: HTMLResponse(ARTICLE)),
        Route("/text", lambda r: PlainTextResponse("plain words")),
        Route("/pdf", lambda r: Response(_pdf(), media_type="application/pdf")),
        Route("/big", lambda r: PlainTextResponse("x" * 200_000)),
        Route(
            "/image", lambda r: Response(b"\x89PNG\r\n\x1a\n" + bytes(100), media_type="image/png")
        ),
        Route("/slow", _slow),
        Route("/missing", lambda r: PlainTextResponse("no", status_code=404)),
        Route(
            "/hop/{n:int}",
            lambda r: RedirectResponse(
                url(f"/hop/{r.path_params['n'] - 1}") if r.path_params["n"] else url("/text")
            ),
        ),
        Route("/to", lambda r: RedirectResponse(r.query_params["url"], status_code=302)),
    ]
    return Starlette(routes=routes)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    holder: dict[str, int] = {}
    server = ThreadServer(_app(holder))
    holder["port"] = server.port
    with server:
        yield server.url


def fetcher(**overrides: object) -> Fetcher:
    options: dict = {
        "max_bytes": 100_000,
        "timeout": 5.0,
        "max_redirects": 3,
        "user_agent": "test",
        "policy": AddressPolicy.build(["127.0.0.1"]),
    }
    options.update(overrides)
    policy = options.pop("policy")
    return Fetcher(policy, **options)  # type: ignore[arg-type]


async def test_a_page_comes_back_as_markdown_of_its_main_content(site: str, data_dir: Path) -> None:
    settings = make_settings(data_dir, web=WebSettings(allow_hosts=["127.0.0.1"]))
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("fetch", {"url": f"{site}/article"})
    text = result.content[0].text
    assert not result.is_error
    assert "Title: Refund" in text
    assert "# Refunds" in text and "## Shipping" in text
    assert f"[the terms]({site}/terms)" in text
    assert "(c) 2026" not in text and "Home" not in text


async def test_long_pages_come_in_parts(site: str, data_dir: Path) -> None:
    settings = make_settings(data_dir, web=WebSettings(allow_hosts=["127.0.0.1"]))
    async with Client(build_server(settings)) as client:
        first = (
            (await client.call_tool("fetch", {"url": f"{site}/big", "max_length": 1000}))
            .content[0]
            .text
        )
        second = (
            (
                await client.call_tool(
                    "fetch", {"url": f"{site}/big", "max_length": 1000, "start_index": 1000}
                )
            )
            .content[0]
            .text
        )
    assert "start_index=1000" in first
    assert "characters 1000-2000" in second


async def test_pdf_text_is_extracted(site: str) -> None:
    from common.extraction import extract

    fetched = await fetcher().fetch(f"{site}/pdf")
    assert (
        "Quarterly revenue grew nine percent"
        in extract(fetched.body, mime_type=fetched.content_type).text
    )


async def test_without_an_allow_list_loopback_is_refused_before_connecting(site: str) -> None:
    with pytest.raises(Refused, match="loopback"):
        await fetcher(policy=AddressPolicy.build()).fetch(f"{site}/text")


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",
        "http://0xa9fea9fe/",
        "http://0x0a000001/",
        "http://10.0.0.1/",
        "http://[::1]:1/",
        "http://localhost:1/",
        "http://metadata.google.internal/",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
    ],
)
async def test_every_redirect_hop_is_checked(site: str, target: str) -> None:
    with pytest.raises(Refused):
        await fetcher(policy=AddressPolicy.build(["127.0.0.1"])).fetch(f"{site}/to?url={target}")


async def test_a_name_that_resolves_to_a_private_address_is_refused_after_dns(site: str) -> None:
    async def rebinding(host: str, port: int) -> list:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]

    with pytest.raises(Refused, match="loopback"):
        await fetcher(policy=AddressPolicy.build(), resolver=rebinding).fetch(
            "http://evil.example/"
        )


async def test_the_connection_goes_to_the_address_that_was_checked(site: str) -> None:
    port = int(site.rsplit(":", 1)[1])

    async def pinned(host: str, port_: int) -> list:
        return [ipaddress.ip_address("127.0.0.1")]

    fetched = await fetcher(policy=AddressPolicy.build(["docs.test"]), resolver=pinned).fetch(
        f"http://docs.test:{port}/text"
    )
    assert fetched.body == b"plain words"


async def test_redirects_beyond_the_limit_fail(site: str) -> None:
    assert (await fetcher().fetch(f"{site}/hop/2")).body == b"plain words"  # 3 redirects
    with pytest.raises(FetchFailed, match="redirects"):
        await fetcher().fetch(f"{site}/hop/3")


async def test_bodies_are_cut_at_the_size_limit(site: str) -> None:
    fetched = await fetcher(max_bytes=1000).fetch(f"{site}/big")
    assert fetched.truncated and len(fetched.body) == 1000


async def test_a_slow_server_hits_the_deadline(site: str) -> None:
    with pytest.raises(FetchFailed, match="longer than"):
        await fetcher(timeout=0.5).fetch(f"{site}/slow")


async def test_errors_and_unreadable_content_are_tool_errors(site: str, data_dir: Path) -> None:
    settings = make_settings(data_dir, web=WebSettings(allow_hosts=["127.0.0.1"]))
    async with Client(build_server(settings)) as client:
        missing = await client.call_tool("fetch", {"url": f"{site}/missing"})
        image = await client.call_tool("fetch", {"url": f"{site}/image"})
        private = await client.call_tool("fetch", {"url": "http://192.168.0.1/"})
    assert missing.is_error and "404" in missing.content[0].text
    assert image.is_error and "image/png" in image.content[0].text
    assert private.is_error and "private address" in private.content[0].text
