"""Fetching documents by URL: redirects, limits and content types against a local server, and the
guard that keeps the bot from reaching private addresses (checked without connecting anywhere)."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from bot.knowledge import fetch
from bot.knowledge.fetch import Fetched, FetchError, fetch_url, is_public_address

PAGE = "<html><body><p>Hello from the test server.</p></body></html>"


@pytest.fixture(autouse=True)
def connections(monkeypatch) -> list[str]:
    """Every address a test's sockets connect to. Only loopback is let through: no test reaches the
    network, even if the guard under test were broken."""
    attempts: list[str] = []
    outside: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real):
        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append(address[0])
                if not ipaddress.ip_address(address[0].split("%")[0]).is_loopback:
                    outside.append(address[0])
                    raise OSError(errno.ENETUNREACH, "test sockets reach loopback only")
            return real(sock, address)
        return connect

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
    yield attempts
    assert not outside, f"a test tried to connect outside loopback: {outside}"


@dataclass
class Server:
    port: int
    requests: list[str] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def server():
    release = asyncio.Event()  # never set during a test: the slow handlers wait on it until teardown
    routes = web.RouteTableDef()
    state = Server(port=0)

    @web.middleware
    async def record(request, handler):
        state.requests.append(request.path)
        state.user_agents.append(request.headers.get("User-Agent", ""))
        return await handler(request)

    @routes.get("/page.html")
    async def page(request):
        return web.Response(text=PAGE, content_type="text/html", charset="utf-8")

    @routes.get("/redirect/{n}")
    async def redirect(request):
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/redirect/{n - 1}" if n > 1 else "/page.html")

    @routes.get("/loop")
    async def loop(request):
        raise web.HTTPFound("/loop")

    @routes.get("/to-localhost")
    async def to_localhost(request):
        raise web.HTTPFound(state.url("/page.html", host="localhost"))

    @routes.get("/to-metadata")
    async def to_metadata(request):
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    @routes.get("/to-file")
    async def to_file(request):
        raise web.HTTPFound("file:///etc/passwd")

    @routes.get("/big")
    async def big(request):
        return web.Response(body=b"x" * 2000, content_type="text/plain")

    @routes.get("/big-stream")
    async def big_stream(request):
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(4):
            await response.write(b"y" * 600)
        await response.write_eof()
        return response

    @routes.get("/announced-big")
    async def announced_big(request):
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.content_length = 10_000_000
        await response.prepare(request)
        await response.write(b"<p>")
        await release.wait()
        return response

    @routes.get("/slow")
    async def slow(request):
        await release.wait()
        return web.Response(text=PAGE, content_type="text/html")

    @routes.get("/image.png")
    async def image(request):
        return web.Response(body=b"\x89PNG\r\n", content_type="image/png")

    @routes.get("/files/{name}")
    async def files(request):
        return web.Response(body=b"# Notes\n", content_type=request.query.get("type", "application/octet-stream"))

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    yield state
    release.set()
    await runner.cleanup()


async def test_fetches_a_page_from_the_allowed_local_server(server):
    fetched = await fetch_url(server.url("/page.html"), max_bytes=10_000, allow_private=True)
    assert fetched == Fetched(url=server.url("/page.html"), content_type="text/html", data=PAGE.encode(),
                              suffix=".html", charset="utf-8")
    assert server.user_agents == [fetch.USER_AGENT] and "kb-answer-bot" in fetch.USER_AGENT


async def test_follows_a_redirect_chain_hop_by_hop_to_the_final_url(server):
    fetched = await fetch_url(server.url("/redirect/3"), max_bytes=10_000, allow_private=True)
    assert fetched.url == server.url("/page.html")
    assert server.requests == ["/redirect/3", "/redirect/2", "/redirect/1", "/page.html"]


async def test_too_many_redirects(server):
    with pytest.raises(FetchError, match="too many redirects"):
        await fetch_url(server.url("/loop"), max_bytes=10_000, allow_private=True)
    assert len(server.requests) == 6  # the first request and five redirects
    with pytest.raises(FetchError, match="too many redirects"):
        await fetch_url(server.url("/redirect/3"), max_bytes=10_000, allow_private=True, max_redirects=2)


async def test_too_large_with_content_length(server):
    with pytest.raises(FetchError) as caught:
        await fetch_url(server.url("/big"), max_bytes=1000, allow_private=True)
    assert caught.value.reason == "too large (more than 1,000 bytes)"
    assert caught.value.url == server.url("/big")


async def test_too_large_while_streaming_without_content_length(server):
    with pytest.raises(FetchError, match=r"too large \(more than 1,000 bytes\)"):
        await fetch_url(server.url("/big-stream"), max_bytes=1000, allow_private=True)


async def test_announced_length_refused_before_reading_the_body(server):
    with pytest.raises(FetchError, match=r"too large \(more than 5.0 MB\)"):  # not a timeout: nothing was awaited
        await fetch_url(server.url("/announced-big"), max_bytes=5_000_000, allow_private=True, timeout=30)


async def test_slow_response_times_out(server):
    with pytest.raises(FetchError) as caught:
        await fetch_url(server.url("/slow"), max_bytes=10_000, allow_private=True, timeout=0.3)
    assert caught.value.reason == "timed out after 0.3 s"


async def test_http_error_status(server):
    with pytest.raises(FetchError) as caught:
        await fetch_url(server.url("/missing"), max_bytes=10_000, allow_private=True)
    assert caught.value.reason == "HTTP 404 Not Found"


async def test_image_content_type_is_not_a_document(server):
    with pytest.raises(FetchError) as caught:
        await fetch_url(server.url("/image.png"), max_bytes=10_000, allow_private=True)
    assert caught.value.reason == "content type image/png is not a document (HTML, PDF, Word, Markdown or plain text)"


@pytest.mark.parametrize(("path", "suffix"), [
    ("/files/notes.md", ".md"),  # octet-stream named by a document suffix
    ("/files/readme.rst?type=text/plain", ".rst"),  # raw files served as text/plain keep their suffix
    ("/files/guide?type=text/markdown", ".md"),
    ("/files/report?type=application/pdf", ".pdf"),
    ("/files/letter?type=application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
])
async def test_suffix_from_content_type_or_url_path(server, path, suffix):
    fetched = await fetch_url(server.url(path), max_bytes=10_000, allow_private=True)
    assert fetched.suffix == suffix


async def test_octet_stream_without_a_document_suffix_is_refused(server):
    with pytest.raises(FetchError, match="content type application/octet-stream is not a document"):
        await fetch_url(server.url("/files/blob.bin"), max_bytes=10_000, allow_private=True)


PRIVATE_URLS = [
    "http://127.0.0.1:{port}/page.html", "http://[::1]:{port}/page.html", "http://10.0.0.5/",
    "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:{port}/page.html", "http://100.64.0.1/",
    "http://192.168.1.1/", "http://172.16.0.1/", "http://224.0.0.1/", "http://[::ffff:127.0.0.1]:{port}/",
    "http://[fd00::1]/", "http://[fe80::1]/", "https://[2002:7f00:1::]/",
]


@pytest.mark.parametrize("template", PRIVATE_URLS)
async def test_private_addresses_refused_without_connecting(server, connections, template):
    url = template.format(port=server.port)
    with pytest.raises(FetchError, match=r"the address is a private network address \(.+\), which the bot"):
        await fetch_url(url, max_bytes=10_000)
    assert connections == [] and server.requests == []


async def test_host_name_resolving_to_loopback_refused_without_connecting(server, connections):
    with pytest.raises(FetchError) as caught:
        await fetch_url(server.url("/page.html", host="localhost"), max_bytes=10_000)
    assert caught.value.reason in {
        f"the address resolves to a private network address ({address}), which the bot does not fetch"
        for address in ("127.0.0.1", "::1")}
    assert connections == [] and server.requests == []


async def test_any_private_address_among_a_host_names_addresses_refuses_it(monkeypatch, server, connections):
    class Resolver:  # a DNS answer mixing a public and a private address
        async def resolve(self, host, port=0, family=socket.AF_INET):
            return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET, "proto": 0,
                     "flags": 0} for address in ("93.184.216.34", "127.0.0.1")]

        async def close(self):
            pass

    monkeypatch.setattr(fetch, "DefaultResolver", Resolver)
    with pytest.raises(FetchError, match=r"resolves to a private network address \(127.0.0.1\)"):
        await fetch_url(f"http://intranet.example:{server.port}/page.html", max_bytes=10_000)
    assert connections == [] and server.requests == []


async def test_redirect_to_a_private_host_is_refused_even_when_the_first_host_is_allowed(server, connections):
    allowed = {"127.0.0.1"}  # the test server only: "localhost" is another host name, checked as usual
    with pytest.raises(FetchError, match=r"resolves to a private network address"):
        await fetch_url(server.url("/to-localhost"), max_bytes=10_000, allow_private=allowed)
    with pytest.raises(FetchError) as caught:
        await fetch_url(server.url("/to-metadata"), max_bytes=10_000, allow_private=allowed)
    assert caught.value.url == "http://169.254.169.254/latest/meta-data/"
    assert "(169.254.169.254)" in caught.value.reason
    with pytest.raises(FetchError, match="not an http"):
        await fetch_url(server.url("/to-file"), max_bytes=10_000, allow_private=allowed)
    assert server.requests == ["/to-localhost", "/to-metadata", "/to-file"]
    assert set(connections) == {"127.0.0.1"}


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.com/file.txt", "not an http(s) URL"),
    ("file:///etc/passwd", "not an http(s) URL"),
    ("javascript:alert(1)", "not an http(s) URL"),
    ("http:///no-host", "not an http(s) URL"),
    ("not a url", "not an http(s) URL"),
    ("http://user:secret@example.com/", "the URL contains a user name or password, which the bot does not send"),
    ("http://2130706433/", "the host is not a valid IP address"),
    ("http://127.1/", "the host is not a valid IP address"),
])
async def test_refused_urls(connections, url, reason):
    with pytest.raises(FetchError) as caught:
        await fetch_url(url, max_bytes=10_000)
    assert caught.value.reason == reason
    assert connections == []


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:4700:4700::1111", True), ("8.8.8.8", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.31.255.255", False), ("192.168.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("100.127.255.255", False), ("0.0.0.0", False),
    ("224.0.0.251", False), ("255.255.255.255", False), ("240.0.0.1", False), ("192.0.2.1", False),
    ("::1", False), ("::", False), ("fe80::1", False), ("fc00::1", False), ("fec0::1", False), ("ff02::1", False),
    ("::ffff:10.0.0.1", False), ("::ffff:8.8.8.8", False), ("2002:a00:1::", False), ("64:ff9b::7f00:1", False),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
])
def test_is_public_address(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_fetch_error_message_names_url_and_reason():
    error = FetchError("http://x.example/", "HTTP 404 Not Found")
    assert str(error) == "cannot fetch http://x.example/: HTTP 404 Not Found"
