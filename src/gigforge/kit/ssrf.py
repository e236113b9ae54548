"""The SSRF guard: the one check every user-chosen destination passes before the server
connects to it.

A member can type any URL or host into a connection (a self-hosted OpenAI-compatible server,
an Ollama box, an IMAP server), and the server then connects there with the member's
credentials. Unchecked, that lets a member reach what only the server can reach: loopback
services, the private network, a cloud's metadata endpoint. So a destination is resolved, and
every address it resolves to must be public, unless the admin allow-listed it
(`GIGFORGE_ALLOWED_PRIVATE_HOSTS`). The connection is then made to the address that was
checked, never to a second resolution, so DNS rebinding cannot swap in a private address
between the check and the connect; `GuardedTransport` does that for every HTTP connection,
redirects included, and `AddressGuard.addresses_for` gives other protocols the same pinned
list. Errors never say why a connection failed beyond "not allowed" or "could not connect",
so the guard cannot be used as a port scanner either.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from gigforge.kit.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses it resolves to, as text (what getaddrinfo returns).
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

ALLOW_LIST_SETTING = "GIGFORGE_ALLOWED_PRIVATE_HOSTS"
HTTP_SCHEMES = frozenset({"http", "https"})
IMAP_SCHEMES = frozenset({"imap", "imaps"})
DEFAULT_PORTS = {"http": 80, "https": 443, "imap": 143, "imaps": 993}
# Ollama's default address, so a local Ollama works out of the box.
DEFAULT_ALLOWED_PRIVATE_HOSTS = ("localhost:11434", "127.0.0.1:11434", "[::1]:11434")
REFUSED_DETAIL = (
    "this address is not allowed (private or local network); "
    f"an admin can allow it with {ALLOW_LIST_SETTING}"
)

# Cloud instance metadata endpoints hand out the server's own credentials: refused even when
# an allow-listed network contains them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)

# What `ipaddress`'s flags miss or get wrong in some Python versions; everything that is not
# `is_global` is refused as well.
REFUSED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # CGNAT shared space (RFC 6598)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking (RFC 2544)
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/96",  # unspecified, loopback and the deprecated IPv4-compatible form
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo among them
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local addresses
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")


class DestinationRefused(ValidationFailed):
    code = "destination-not-allowed"
    title = "This destination is not allowed"

    def __init__(self, detail: str = REFUSED_DETAIL) -> None:
        super().__init__(detail)


class UnsupportedScheme(ValidationFailed):
    code = "url-scheme-not-allowed"
    title = "This kind of URL is not allowed"


class HostUnreachable(ValidationFailed):
    """A name that does not resolve. Says no more than "could not connect", like a refused or
    silent port, so the answer tells nothing about what listens where."""

    code = "destination-unreachable"
    title = "Could not connect"

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(f"could not connect to {host}")


def is_refused_address(address: IPAddress) -> bool:
    """Whether an address is private, local or otherwise not a public internet host.

    IPv4 addresses wrapped in IPv6 (`::ffff:127.0.0.1`, NAT64's `64:ff9b::7f00:1`, 6to4's
    `2002:7f00:1::`) are judged by the IPv4 address inside, since that is where a packet to
    them ends up.
    """
    address = unwrapped(address)
    if address in METADATA_ADDRESSES:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour
        if embedded is not None and is_refused_address(embedded):
            return True
    if any(address in network for network in REFUSED_NETWORKS):
        return True
    return not address.is_global or address.is_multicast or address.is_reserved


def unwrapped(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv4-mapped or NAT64 (64:ff9b::/96) IPv6 address stands for."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64_WELL_KNOWN:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def normal_host(host: str) -> str:
    """A host as the allow-list compares it: no brackets, no trailing dot, lower case."""
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class AllowList:
    """The admin's exceptions: `host:port` entries (a name, an IPv4 address or a bracketed
    IPv6 address, then the port) and networks in CIDR form (any port)."""

    names: frozenset[tuple[str, int]] = frozenset()
    addresses: frozenset[tuple[IPAddress, int]] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Raises ValueError naming the first entry that is neither form."""
        names: set[tuple[str, int]] = set()
        addresses: set[tuple[IPAddress, int]] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if "/" in entry or _is_address(entry):
                try:
                    networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                except ValueError:
                    raise ValueError(f"{raw!r} is not a valid CIDR network") from None
                continue
            host, port = _host_and_port(raw)
            try:
                addresses.add((ipaddress.ip_address(host), port))
            except ValueError:
                names.add((host, port))
        return cls(frozenset(names), frozenset(addresses), tuple(networks))

    def allows(self, host: str, address: IPAddress, port: int) -> bool:
        if (normal_host(host), port) in self.names:
            return True
        candidates = {address, unwrapped(address)}
        return any(
            (candidate, port) in self.addresses
            or any(candidate in network for network in self.networks)
            for candidate in candidates
        )


def _is_address(entry: str) -> bool:
    try:
        ipaddress.ip_address(entry.strip("[]"))
    except ValueError:
        return False
    return not entry.startswith("[") or entry.endswith("]")


def _host_and_port(entry: str) -> tuple[str, int]:
    host, separator, port = entry.strip().rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{entry!r} is neither host:port nor a CIDR network")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise ValueError(f"{entry!r}: write an IPv6 address in brackets, e.g. [::1]:11434")
    return normal_host(host), int(port)


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The operating system's resolver, without blocking the event loop. It also reads the
    numeric forms a URL parser may pass through as names (`2130706433`, `0177.0.0.1`), and
    gives the address they really mean."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class AddressGuard:
    """Resolves a destination and says which addresses the server may connect to.

    One per process, built from `settings.allowed_private_hosts`; the resolver is injectable so
    tests can make any name resolve anywhere without touching the internet.
    """

    def __init__(
        self,
        *,
        allowed: Iterable[str] | AllowList = DEFAULT_ALLOWED_PRIVATE_HOSTS,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.allow_list = allowed if isinstance(allowed, AllowList) else AllowList.parse(allowed)
        self.resolver = resolver

    async def addresses_for(self, host: str, port: int) -> tuple[IPAddress, ...]:
        """The addresses to connect to for `host:port`, every one of them checked.

        Connect only to these: resolving again could give another answer. A name with any
        refused address is refused as a whole, since a connection might pick that one.
        Raises DestinationRefused, or HostUnreachable when the name does not resolve; bound
        the wait with `asyncio.timeout` around the call.
        """
        name = normal_host(host)
        if not name:
            raise HostUnreachable(host or "an empty host")
        try:
            answers = await self.resolver(name, port)
        except (OSError, UnicodeError, TimeoutError):
            raise HostUnreachable(name) from None
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                address = ipaddress.ip_address(answer)
            except ValueError:
                continue
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise HostUnreachable(name)
        for address in addresses:
            if unwrapped(address) in METADATA_ADDRESSES:
                raise DestinationRefused()
            if is_refused_address(address) and not self.allow_list.allows(name, address, port):
                raise DestinationRefused()
        return tuple(addresses)

    async def check_url(self, url: str, *, schemes: frozenset[str] = HTTP_SCHEMES) -> None:
        """Refuse a URL the server should not call, when a user saves it, so the mistake is a
        clear 422 at once rather than a failure at the first scan. Connections are checked
        again when made (`GuardedTransport`), which is what stops DNS rebinding."""
        host, port = parse_destination(url, schemes=schemes)
        await self.addresses_for(host, port)


def parse_destination(url: str, *, schemes: frozenset[str] = HTTP_SCHEMES) -> tuple[str, int]:
    """The host and port of a URL whose scheme is one of `schemes`; `file:`, `gopher:`,
    `ftp:` and the like are refused because nothing here should ever open them."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsupportedScheme(f"{url!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        allowed = " and ".join(sorted(schemes))
        shown = f"{scheme}:" if scheme else "a URL without a scheme"
        raise UnsupportedScheme(f"Only {allowed} URLs are allowed, not {shown}")
    if not parts.hostname:
        raise UnsupportedScheme(f"{url!r} names no host")
    return parts.hostname, port or DEFAULT_PORTS[scheme]


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer with the guard at connect time: every TCP connection, first
    request or redirect hop alike, goes to an address the guard checked a moment before.
    TLS still names (SNI) and verifies the original host, which httpcore passes to
    `start_tls` itself, and the Host header is the URL's."""

    def __init__(
        self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.guard.addresses_for(host, port)
        except (HostUnreachable, TimeoutError):
            raise httpcore.ConnectError(f"could not connect to {normal_host(host)}") from None
        for address in addresses[:-1]:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return await self.inner.connect_tcp(
            str(addresses[-1]), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused()

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An `httpx.AsyncHTTPTransport` whose connections pass the guard (see
    `GuardedNetworkBackend`). Use it for any client whose destination a user chose; a webhook
    sender, say: `httpx.AsyncClient(transport=GuardedTransport(guard))`. It ignores proxy
    variables from the environment: a proxy would make the connect-time check meaningless."""

    def __init__(
        self,
        guard: AddressGuard,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: httpx.Limits | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        # Not super().__init__: it would build a pool (and an SSL context) only to drop it.
        self.guard = guard
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            retries=0,
            network_backend=GuardedNetworkBackend(guard, network_backend),
        )
