"""The SSRF guard against real loopback listeners: what it refuses is never contacted, what
the allow-list names goes through, pinned to the address that was checked."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import httpcore
import httpx
import pytest

from gigforge.kit.ssrf import (
    REFUSED_DETAIL,
    AddressGuard,
    AllowList,
    DestinationRefused,
    GuardedNetworkBackend,
    GuardedTransport,
    HostUnreachable,
    UnsupportedScheme,
    is_refused_address,
)
from ssrf_support import (
    TableResolver,
    certificate_for,
    is_ipv6_loopback_available,
    listening,
)

# A public address for names in tests; nothing ever connects to it.
PUBLIC = "93.184.215.14"


def client_for(guard: AddressGuard, **options: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=GuardedTransport(guard, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "0.0.0.0",  # noqa: S104 (an address to judge, not to bind)
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # CGNAT
        "169.254.169.254",  # metadata
        "169.254.1.1",
        "198.18.0.1",  # benchmarking
        "192.0.2.1",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::7f00:1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "fc00::1",
        "fd00:ec2::254",  # metadata over IPv6
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "2001::1",  # Teredo
    ],
)
def test_private_local_and_special_addresses_are_refused(address: str) -> None:
    assert is_refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_pass_including_their_nat64_and_6to4_forms(address: str) -> None:
    assert not is_refused_address(ipaddress.ip_address(address))


async def test_loopback_by_ip_is_refused_and_the_listener_sees_nothing() -> None:
    async with listening() as listener, client_for(AddressGuard()) as client:
        with pytest.raises(DestinationRefused) as refused:
            await client.get(f"http://127.0.0.1:{listener.port}/")
    assert refused.value.detail == REFUSED_DETAIL
    assert refused.value.status_code == 422
    assert not listener.contacted


async def test_localhost_by_name_is_refused_through_the_system_resolver() -> None:
    async with listening() as listener, client_for(AddressGuard()) as client:
        with pytest.raises(DestinationRefused):
            await client.get(f"http://localhost:{listener.port}/")
    assert not listener.contacted


async def test_a_public_looking_name_that_resolves_to_loopback_is_refused() -> None:
    resolver = TableResolver({"intranet.example.com": [["127.0.0.1"]]})
    guard = AddressGuard(resolver=resolver)
    async with listening() as listener, client_for(guard) as client:
        with pytest.raises(DestinationRefused):
            await client.get(f"http://intranet.example.com:{listener.port}/")
    assert resolver.asked == ["intranet.example.com"]
    assert not listener.contacted


async def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    guard = AddressGuard(resolver=TableResolver({"mixed.test": [[PUBLIC, "10.0.0.5"]]}))
    with pytest.raises(DestinationRefused):
        await guard.addresses_for("mixed.test", 443)


@pytest.mark.skipif(not is_ipv6_loopback_available(), reason="no IPv6 loopback here")
async def test_ipv6_loopback_is_refused() -> None:
    async with listening("::1") as listener, client_for(AddressGuard()) as client:
        with pytest.raises(DestinationRefused):
            await client.get(f"http://[::1]:{listener.port}/")
    assert not listener.contacted


async def test_ipv4_mapped_ipv6_loopback_is_refused() -> None:
    async with listening() as listener, client_for(AddressGuard()) as client:
        with pytest.raises(DestinationRefused):
            await client.get(f"http://[::ffff:127.0.0.1]:{listener.port}/")
    assert not listener.contacted


async def test_decimal_and_hex_spellings_of_loopback_are_refused() -> None:
    async with listening() as listener, client_for(AddressGuard()) as client:
        for host in ("2130706433", "0x7f.1", "127.1"):
            with pytest.raises(DestinationRefused):
                await client.get(f"http://{host}:{listener.port}/")
    assert not listener.contacted


async def test_an_octal_spelling_of_loopback_is_refused_at_connect_time() -> None:
    # httpx refuses to parse http://0177.0.0.1/, but a connection named so must not get by
    # whatever hands the name on.
    backend = GuardedNetworkBackend(AddressGuard())
    async with listening() as listener:
        with pytest.raises(DestinationRefused):
            await backend.connect_tcp("0177.0.0.1", listener.port)
        with pytest.raises(DestinationRefused):
            await AddressGuard().check_url(f"http://0177.0.0.1:{listener.port}/")
    assert not listener.contacted


async def test_a_redirect_from_an_allowed_server_to_loopback_is_not_followed() -> None:
    async with (
        listening() as target,
        listening(status=302, location=f"http://127.0.0.1:{target.port}/admin") as allowed,
    ):
        guard = AddressGuard(allowed=[f"127.0.0.1:{allowed.port}"])
        async with client_for(guard) as client:
            with pytest.raises(DestinationRefused):
                await client.get(f"http://127.0.0.1:{allowed.port}/", follow_redirects=True)
    assert len(allowed.requests) == 1
    assert not target.contacted


async def test_the_allow_list_lets_its_host_and_port_through_and_only_that_port() -> None:
    async with listening() as allowed, listening() as other:
        guard = AddressGuard(allowed=[f"127.0.0.1:{allowed.port}"])
        async with client_for(guard) as client:
            response = await client.get(f"http://127.0.0.1:{allowed.port}/models")
            with pytest.raises(DestinationRefused):
                await client.get(f"http://127.0.0.1:{other.port}/")
    assert response.status_code == 200
    assert allowed.requests[0].startswith(b"GET /models HTTP/1.1")
    assert not other.contacted


async def test_an_allowed_network_admits_any_port_in_it() -> None:
    async with listening() as listener, client_for(AddressGuard(allowed=["127.0.0.0/8"])) as client:
        response = await client.get(f"http://127.0.0.1:{listener.port}/")
    assert response.status_code == 200


async def test_a_name_is_pinned_to_the_checked_address_and_keeps_its_host_header() -> None:
    # `svc.test` exists only in the guard's resolver: had anything resolved it again, the
    # connection would have failed.
    async with listening() as listener:
        guard = AddressGuard(
            allowed=[f"svc.test:{listener.port}"],
            resolver=TableResolver({"svc.test": [["127.0.0.1"]]}),
        )
        async with client_for(guard) as client:
            response = await client.get(f"http://svc.test:{listener.port}/ping")
    assert response.status_code == 200
    assert listener.host_header() == f"svc.test:{listener.port}"


async def test_tls_to_a_pinned_address_verifies_the_certificate_for_the_name(
    tmp_path: Path,
) -> None:
    server_tls, client_tls = certificate_for("svc.test", tmp_path)
    async with listening(tls=server_tls) as listener:
        guard = AddressGuard(
            allowed=["127.0.0.1/32"], resolver=TableResolver({"svc.test": [["127.0.0.1"]]})
        )
        async with client_for(guard, ssl_context=client_tls) as client:
            response = await client.get(f"https://svc.test:{listener.port}/")
            # The certificate names svc.test only: by address, verification fails.
            with pytest.raises(httpx.ConnectError):
                await client.get(f"https://127.0.0.1:{listener.port}/")
    assert response.status_code == 200


async def test_dns_rebinding_after_the_check_is_refused_at_connect_time() -> None:
    async with listening() as listener:
        resolver = TableResolver({"rebind.test": [[PUBLIC], ["127.0.0.1"]]})
        guard = AddressGuard(resolver=resolver)
        await guard.check_url(f"http://rebind.test:{listener.port}/")
        async with client_for(guard) as client:
            with pytest.raises(DestinationRefused):
                await client.get(f"http://rebind.test:{listener.port}/")
    assert resolver.asked == ["rebind.test", "rebind.test"]
    assert not listener.contacted


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"])
async def test_metadata_addresses_are_refused_even_inside_an_allowed_network(
    address: str,
) -> None:
    guard = AddressGuard(
        allowed=["169.254.0.0/16", "fd00::/8", "metadata.test:80"],
        resolver=TableResolver({"metadata.test": [[address]]}),
    )
    with pytest.raises(DestinationRefused):
        await guard.addresses_for("metadata.test", 80)


async def test_a_name_that_does_not_resolve_reads_like_any_failed_connection() -> None:
    guard = AddressGuard(resolver=TableResolver({}))
    with pytest.raises(HostUnreachable) as failed:
        await guard.addresses_for("nowhere.test", 443)
    assert failed.value.detail == "could not connect to nowhere.test"
    backend = GuardedNetworkBackend(guard)
    with pytest.raises(httpcore.ConnectError, match=r"^could not connect to nowhere\.test$"):
        await backend.connect_tcp("nowhere.test", 443)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://example.com/", "example.com"],
)
async def test_urls_other_than_http_and_https_are_refused(url: str) -> None:
    resolver = TableResolver({})
    with pytest.raises(UnsupportedScheme) as refused:
        await AddressGuard(resolver=resolver).check_url(url)
    assert refused.value.status_code == 422
    assert resolver.asked == []


async def test_a_public_https_url_passes_the_check() -> None:
    guard = AddressGuard(resolver=TableResolver({"api.example.com": [[PUBLIC]]}))
    await guard.check_url("https://api.example.com/v1")


@pytest.mark.parametrize("entry", ["nas.lan", "::1:", "10.0.0.0/33", "host:0", "::1::11434"])
def test_allow_list_entries_that_are_neither_form_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match=r"host:port|CIDR|brackets"):
        AllowList.parse([entry])


def test_the_default_allow_list_admits_ollama_on_loopback_only() -> None:
    allow = AddressGuard().allow_list
    loopback = ipaddress.ip_address("127.0.0.1")
    assert allow.allows("localhost", loopback, 11434)
    assert allow.allows("127.0.0.1", loopback, 11434)
    assert allow.allows("::1", ipaddress.ip_address("::1"), 11434)
    assert not allow.allows("127.0.0.1", loopback, 11435)
