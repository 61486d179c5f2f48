"""A web server on 127.0.0.1 that tests start, for documents added by URL (no test touches the network)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web


def article_page(title: str, body: str, author: str = "Ana Lopez", canonical: str = "") -> str:
    """A news-style page: navigation, the article with its metadata, a footer."""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title} | Daily Planet</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="Daily Planet">
<meta name="author" content="{author}"><meta property="article:published_time" content="2024-05-02T09:00:00Z">
{link}</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1>{body}</article>
<footer><p>Copyright Daily Planet. All rights reserved. Subscribe to our newsletter.</p></footer>
</body></html>"""


class PageServer:
    """Serves ``pages`` (path -> (content type, body)); tests change them to simulate an edited page."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.requests: list[str] = []
        self.base = ""

    def put(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8") -> str:
        self.pages[path] = (content_type, body.encode("utf-8") if isinstance(body, str) else body)
        return self.base + path

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        found = self.pages.get(request.path)
        if found is None:
            return web.Response(status=404, text="not found")
        content_type, body = found
        return web.Response(body=body, headers={"Content-Type": content_type})


@pytest.fixture
async def page_server() -> AsyncIterator[PageServer]:
    server = PageServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()
