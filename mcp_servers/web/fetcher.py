"""Fetching a URL safely: SSRF rules on every hop, pinned addresses, size and time limits.

For each hop (the URL, then every redirect): only http and https; the host is judged as a
literal or by every address it resolves to (`AddressPolicy`); the connection then goes to
the very address that was judged (the request is pinned to it, with the original Host
header and TLS server name), so a DNS answer that changes between check and connect
(rebinding) cannot steer it elsewhere. Redirects are followed by hand, at most
`max_redirects`; the body is read up to `max_bytes`; the whole fetch has one deadline.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import httpx

from common.addresses import AddressPolicy, IPAddress, Refused

__all__ = ["FetchFailed", "Fetched", "Fetcher", "Refused", "system_resolver"]

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

_REDIRECTS = {301, 302, 303, 307, 308}


class FetchFailed(Exception):
    """The fetch did not produce a usable response; the message is for the model."""


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes
    truncated: bool
    redirects: list[str]


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host`."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise FetchFailed(f"{host} does not resolve: {error.strerror}") from error
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class Fetcher:
    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_bytes: int,
        timeout: float,
        max_redirects: int,
        user_agent: str,
        resolver: Resolver = system_resolver,
        verify: bool = True,
    ) -> None:
        self.policy = policy
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.resolver = resolver
        self.verify = verify

    async def fetch(self, url: str) -> Fetched:
        """GET `url`, following redirects safely.

        Raises:
            Refused: a hop's host is not allowed.
            FetchFailed: bad URL, too many redirects, timeout, network or HTTP failure.
        """
        try:
            with anyio.fail_after(self.timeout):
                return await self._fetch(url)
        except TimeoutError as error:
            raise FetchFailed(f"The fetch took longer than {self.timeout:g} s.") from error

    async def _fetch(self, url: str) -> Fetched:
        redirects: list[str] = []
        timeout = httpx.Timeout(self.timeout, connect=min(10.0, self.timeout))
        async with httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=timeout, verify=self.verify
        ) as client:
            current = _parse(url)
            while True:
                address = await self._judge(current)
                response = await self._get(client, current, address)
                try:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        if len(redirects) >= self.max_redirects:
                            raise FetchFailed(
                                f"More than {self.max_redirects} redirects (last: {current})."
                            )
                        redirects.append(str(current))
                        current = _parse(str(current.join(response.headers["location"])))
                        continue
                    body, truncated = await self._read(response)
                    return Fetched(
                        url=str(current),
                        status=response.status_code,
                        content_type=response.headers.get("content-type", ""),
                        body=body,
                        truncated=truncated,
                        redirects=redirects,
                    )
                finally:
                    await response.aclose()

    async def _judge(self, url: httpx.URL) -> IPAddress:
        host = url.host
        literal = self.policy.check_host(host)
        if literal is not None:
            return literal
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await self.resolver(host, port)
        self.policy.check_resolved(host, addresses)
        return addresses[0]

    async def _get(
        self, client: httpx.AsyncClient, url: httpx.URL, address: IPAddress
    ) -> httpx.Response:
        host_header = url.host if url.port is None else f"{url.host}:{url.port}"
        if ":" in url.host and url.port is None:
            host_header = f"[{url.host}]"
        elif ":" in url.host:
            host_header = f"[{url.host}]:{url.port}"
        pinned = url.copy_with(host=str(address))
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        request = client.build_request(
            "GET",
            pinned,
            headers={
                "Host": host_header,
                "User-Agent": self.user_agent,
                "Accept": "text/html,application/xhtml+xml,text/markdown,text/plain;q=0.9,"
                "application/pdf;q=0.8,*/*;q=0.5",
                "Accept-Encoding": "gzip, deflate",
            },
            extensions=extensions,
        )
        try:
            return await client.send(request, stream=True)
        except httpx.TimeoutException as error:
            raise FetchFailed(f"{url.host} did not answer in time.") from error
        except httpx.HTTPError as error:
            raise FetchFailed(f"Could not fetch {url}: {type(error).__name__}: {error}") from error

    async def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_bytes:
                    return b"".join(chunks)[: self.max_bytes], True
        except httpx.HTTPError as error:
            raise FetchFailed(f"The response broke off: {error}") from error
        return b"".join(chunks), False


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise FetchFailed(f"Not a valid URL: {url!r}") from error
    if parsed.scheme not in ("http", "https"):
        raise Refused(f"Only http and https URLs can be fetched, not {parsed.scheme or 'this'}.")
    if not parsed.host:
        raise FetchFailed(f"The URL has no host: {url!r}")
    if parsed.userinfo:
        raise Refused("URLs with credentials (user:password@) are not fetched.")
    return parsed
