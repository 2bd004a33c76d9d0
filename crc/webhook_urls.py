"""Which webhook URLs may be called: http(s) only; outside dev https, and never an address of
the intranet (loopback, private, link-local, reserved) unless its host is on the allow-list.

Checked when a subscription is made and again before every delivery, on the addresses the host
resolves to then, so a name that later resolves inside (DNS rebinding) is refused; the delivery
connects to the address checked here.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from crc.settings import Settings

MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedURL(Exception):
    """A webhook URL that may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    """A URL that may be called and the address to connect to for it."""

    url: str
    host: str
    address: str


def _address_problem(address: IPAddress, settings: Settings) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if settings.is_dev else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    # Before is_private, which also holds for 0.0.0.0 and other special-purpose blocks.
    if address.is_reserved or address.is_multicast or address.is_unspecified:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    return None


def _shape(url: str, settings: Settings) -> tuple[str, int]:
    """The host and port of a well-formed URL that the settings allow."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedURL(f"use a URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedURL(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise RefusedURL("use an http:// or https:// URL")
    if not settings.is_dev and parts.scheme != "https":
        raise RefusedURL("use an https:// URL")
    if not parts.hostname:
        raise RefusedURL("the URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise RefusedURL("put no user name or password in the URL; check the signature instead")
    return parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80)


async def _resolve(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise RefusedURL(f"the host {host} does not resolve") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


async def check_url(url: str, settings: Settings) -> Target:
    """The URL and the address to call it at; RefusedURL says why it may not be called."""
    host, port = _shape(url, settings)
    addresses = await _resolve(host, port)
    if host in settings.webhook_allow_hosts:
        return Target(url, host, addresses[0])
    for address in addresses:
        problem = _address_problem(ipaddress.ip_address(address.split("%")[0]), settings)
        if problem:
            raise RefusedURL(
                f"the host {host} resolves to {problem} ({address}); an operator may allow it in "
                "CRC_WEBHOOK_ALLOW_HOSTS"
            )
    return Target(url, host, addresses[0])
