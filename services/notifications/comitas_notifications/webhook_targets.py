"""Where a webhook may point: checked when a subscription is created and again before every attempt.

Outside development and tests a target must be https and every address its host resolves to must be
public: no loopback, private, link-local, multicast, reserved or unspecified address, so a subscriber
cannot turn Comitas against the network it runs in (SSRF). The delivery worker connects to the very
address it checked (``PinnedTarget``), so a DNS answer that changes between check and connect (DNS
rebinding) does not get through either.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from comitas_shared.errors import Unprocessable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


class TargetNotAllowed(Unprocessable):
    slug = "webhook-target-not-allowed"
    title = "Webhook target not allowed"


def address_is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    forbidden = (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
                 or address.is_reserved or address.is_unspecified)
    # is_global also rules out ranges that are none of the above, such as carrier-grade NAT 100.64/10.
    return not forbidden and address.is_global


def parse_target(url: str, *, allow_private: bool) -> httpx.URL:
    """The URL's shape alone: scheme, host, no credentials. Raises TargetNotAllowed."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise TargetNotAllowed(f"the webhook URL is not valid: {exc}") from None
    allowed_schemes = {"https", "http"} if allow_private else {"https"}
    if parsed.scheme not in allowed_schemes:
        raise TargetNotAllowed("the webhook URL must use https")
    if not parsed.host:
        raise TargetNotAllowed("the webhook URL has no host")
    if parsed.userinfo:
        raise TargetNotAllowed("the webhook URL must not carry credentials")
    if parsed.fragment:
        raise TargetNotAllowed("the webhook URL must not have a fragment")
    return parsed


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class PinnedTarget:
    """A checked target: the URL as the subscriber wrote it, and the address to connect to."""

    url: httpx.URL
    address: str | None  # None when private targets are allowed: then httpx resolves as usual

    def request_url(self) -> httpx.URL:
        if self.address is None:
            return self.url
        host = f"[{self.address}]" if ":" in self.address else self.address
        return self.url.copy_with(host=host)

    def headers(self) -> dict[str, str]:
        if self.address is None:
            return {}
        port = self.url.port
        return {"Host": self.url.host if port is None else f"{self.url.host}:{port}"}

    def extensions(self) -> dict[str, str]:
        # TLS is still checked against the host name, not the address we connect to.
        if self.address is None or self.url.scheme != "https":
            return {}
        return {"sni_hostname": self.url.host}


async def check_target(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> PinnedTarget:
    parsed = parse_target(url, allow_private=allow_private)
    if allow_private:
        return PinnedTarget(url=parsed, address=None)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        literal = ipaddress.ip_address(parsed.host)
        addresses = [str(literal)]
    except ValueError:
        try:
            addresses = await resolver(parsed.host, port)
        except OSError as exc:
            raise TargetNotAllowed(f"the webhook host does not resolve: {exc}") from None
    if not addresses:
        raise TargetNotAllowed("the webhook host does not resolve")
    for address in addresses:
        if not address_is_public(ipaddress.ip_address(address.split("%", 1)[0])):
            raise TargetNotAllowed("the webhook host resolves to an address that is not public")
    return PinnedTarget(url=parsed, address=addresses[0])
