"""Fetch a web page or document by URL, for ``python -m bot add URL`` and ``/kb add url:``.

A server admin hands the bot a URL, and the bot fetches it from wherever it runs: without care that
makes the bot a way to reach its host's own network (a cloud metadata service at 169.254.169.254, an
admin panel on localhost, a database on 10.0.0.5). So only http(s) URLs without credentials are
fetched; every address a host name resolves to must be a public one, and the connection goes to the
very addresses that were checked (the check sits in the connector's resolver, so a DNS answer cannot
change between check and connect); redirects are followed one hop at a time and each hop is checked
again; size, time and content type are limited.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import PurePosixPath

import aiohttp
from aiohttp import DefaultResolver
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

USER_AGENT = "kb-answer-bot/0.1 (document fetcher of a Discord knowledge-base bot)"
REDIRECTS = {301, 302, 303, 307, 308}
# Media type -> the suffix the loader's parsers know.
DOCUMENT_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/x-rst": ".rst",
    "text/prs.fallenstein.rst": ".rst",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
URL_SUFFIXES = {
    ".html": ".html", ".htm": ".html", ".xhtml": ".html", ".pdf": ".pdf", ".docx": ".docx", ".md": ".md",
    ".markdown": ".md", ".txt": ".txt", ".rst": ".rst",
}
DOCUMENT_KINDS = "HTML, PDF, Word, Markdown or plain text"


@dataclass(frozen=True)
class Fetched:
    """A fetched document: the final URL (after redirects), its media type (lower case, no parameters),
    the body, the suffix naming its format for the loader, and the charset the server declared."""

    url: str
    content_type: str
    data: bytes
    suffix: str
    charset: str = ""


class FetchError(Exception):
    """A URL the bot will not or cannot fetch; ``reason`` is one plain sentence for the user."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot fetch {url}: {reason}")
        self.url = url
        self.reason = reason


async def fetch_url(url: str, *, max_bytes: int, timeout: float = 20.0,
                    allow_private: bool | Collection[str] = False, max_redirects: int = 5) -> Fetched:
    """Fetch ``url`` (following at most ``max_redirects`` redirects) or raise FetchError.

    ``allow_private`` exists for tests, which serve pages from a local aiohttp server on 127.0.0.1:
    True lets any host resolve to a private, loopback or otherwise non-public address; a collection
    of host names lets only those hosts do so (as written in the URL: allowing "127.0.0.1" does not
    allow "localhost"), so a test can fetch from its own server and still see a redirect to another
    private address refused. The bot itself always leaves it False.
    """
    allowed = _host_policy(allow_private)
    current = _checked_url(url, allowed)
    resolver = _GuardedResolver(allowed)
    try:
        async with asyncio.timeout(timeout), _session(resolver) as session:
            for _ in range(max_redirects + 1):
                async with session.get(current, allow_redirects=False) as response:
                    location = response.headers.get("Location") if response.status in REDIRECTS else None
                    if location is None:
                        return await _document(response, str(current), max_bytes)
                current = _checked_url(_join(current, location), allowed)
            raise FetchError(str(current), "too many redirects")
    except TimeoutError:
        raise FetchError(str(current), f"timed out after {timeout:g} s") from None
    except aiohttp.InvalidURL:
        raise FetchError(str(current), "not an http(s) URL") from None
    except aiohttp.ClientConnectorError as exc:
        if resolver.refused:
            raise FetchError(str(current), _private_reason(resolver.refused[1], resolved=True)) from None
        if isinstance(exc.os_error, socket.gaierror):
            raise FetchError(str(current), f"cannot resolve the host name {current.host}") from None
        raise FetchError(str(current), f"cannot connect: {_describe(exc)}") from None
    except aiohttp.ClientError as exc:
        raise FetchError(str(current), f"cannot connect: {_describe(exc)}") from None
    finally:
        await resolver.close()


def _join(base: URL, location: str) -> str:
    try:
        return str(base.join(URL(location)))
    except (ValueError, TypeError):
        raise FetchError(location, "not an http(s) URL") from None


def _host_policy(allow_private: bool | Collection[str]) -> set[str] | bool:
    if isinstance(allow_private, bool):
        return allow_private
    return {host.lower().strip("[]") for host in allow_private}


def _may_be_private(host: str, allowed: set[str] | bool) -> bool:
    return allowed is True or (isinstance(allowed, set) and host.lower().strip("[]").rstrip(".") in allowed)


def _checked_url(url: str, allowed: set[str] | bool) -> URL:
    """The URL, if the bot may fetch it: http(s), no credentials, and not a non-public IP address.
    (Host names are checked when they resolve, in _GuardedResolver.)"""
    try:
        parsed = URL(url.strip())
    except (ValueError, TypeError):
        raise FetchError(url, "not an http(s) URL") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise FetchError(url, "not an http(s) URL")
    if parsed.user is not None or parsed.password is not None:
        raise FetchError(url, "the URL contains a user name or password, which the bot does not send")
    host = parsed.host.strip("[]")
    if _may_be_private(host, allowed):
        return parsed
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host.replace(".", "").isdigit():  # 2130706433, 127.1: numbers that resolvers map onto addresses
            raise FetchError(url, "the host is not a valid IP address") from None
        return parsed
    if not is_public_address(address):
        raise FetchError(url, _private_reason(str(address), resolved=False))
    return parsed


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public internet: not private, loopback, link-local (cloud metadata
    at 169.254.169.254), carrier-grade NAT (100.64/10), multicast, reserved or unspecified, also when
    an IPv6 address carries one of those IPv4 addresses (IPv4-mapped, 6to4, Teredo)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
        if any(inner is not None and not is_public_address(inner) for inner in embedded):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified)


def _private_reason(address: str, *, resolved: bool) -> str:
    verb = "resolves to" if resolved else "is"
    return f"the address {verb} a private network address ({address}), which the bot does not fetch"


class _GuardedResolver(AbstractResolver):
    """The default resolver, refusing a host if any of its addresses is not public. The connector
    connects only to addresses this returns, so what was checked is what gets connected to."""

    def __init__(self, allowed: set[str] | bool) -> None:
        self._inner = DefaultResolver()
        self._allowed = allowed
        self.refused: tuple[str, str] | None = None

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if _may_be_private(host, self._allowed):
            return results
        for result in results:
            try:
                public = is_public_address(ipaddress.ip_address(result["host"]))
            except ValueError:
                public = False
            if not public:
                self.refused = (host, result["host"])
                raise OSError(f"{host} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _session(resolver: _GuardedResolver) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, limit=4)
    accept = ", ".join([*DOCUMENT_TYPES, "*/*;q=0.1"])
    return aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": USER_AGENT, "Accept": accept},
        cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)  # trust_env=False: no proxy from the environment


async def _document(response: aiohttp.ClientResponse, url: str, max_bytes: int) -> Fetched:
    if not 200 <= response.status < 300:
        raise FetchError(url, f"HTTP {response.status} {response.reason or ''}".strip())
    media_type = (response.content_type or "application/octet-stream").lower()
    suffix = _suffix(media_type, response.url.path)
    if suffix is None:
        raise FetchError(url, f"content type {media_type} is not a document ({DOCUMENT_KINDS})")
    limit = f"{max_bytes / 1_000_000:.1f} MB" if max_bytes >= 100_000 else f"{max_bytes:,} bytes"
    too_large = f"too large (more than {limit})"
    if response.content_length is not None and response.content_length > max_bytes:
        raise FetchError(url, too_large)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(url, too_large)
        chunks.append(chunk)
    return Fetched(url=url, content_type=media_type, data=b"".join(chunks), suffix=suffix,
                   charset=response.charset or "")


def _suffix(media_type: str, path: str) -> str | None:
    """The document's suffix from its content type; a plain-text or untyped body (raw files on code
    hosts) is named by the URL path's suffix when that is a document suffix."""
    from_path = URL_SUFFIXES.get(PurePosixPath(path).suffix.lower())
    if media_type == "text/plain" and from_path in {".md", ".rst", ".txt"}:
        return from_path
    if media_type in DOCUMENT_TYPES:
        return DOCUMENT_TYPES[media_type]
    if media_type in {"application/octet-stream", "binary/octet-stream"}:
        return from_path
    return None


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return str(exc.os_error.strerror or exc.os_error) if exc.os_error else str(exc)
    return str(exc) or type(exc).__name__
