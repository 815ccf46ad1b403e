"""The SSRF guard: every non-public address is refused, by literal or by what a name resolves to.

No request leaves the process here: refused literals are stopped before a connection is made,
and names are answered by a table resolver.
"""

from __future__ import annotations

import ipaddress

import pytest

from voiceauth_adapters.http import (
    AddressPolicy,
    AddressRefusedError,
    GuardedResolver,
    HttpDownloader,
)
from voiceauth_adapters.http.guard import classify
from voiceauth_adapters.http.testing import StaticResolver
from voiceauth_core import AudioDownloadError

pytestmark = pytest.mark.unit

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.0.0.1", "private"),
    ("10.255.255.254", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.1", "private"),
    ("192.168.0.1", "private"),
    ("169.254.169.254", "link_local"),
    ("169.254.0.1", "link_local"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.251", "multicast"),
    ("100.64.0.1", "not_global"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link_local"),
    ("fe80::1", "link_local"),
    ("fe80::1%eth0", "link_local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("ff02::1", "multicast"),
    ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "link_local"),  # NAT64 around 169.254.169.254
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001::200e"]


@pytest.mark.parametrize(("address", "category"), REFUSED)
def test_non_public_addresses_are_classified(address: str, category: str) -> None:
    assert classify(ipaddress.ip_address(address)) == category


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("address", "category"), REFUSED)
def test_the_default_policy_refuses_every_non_public_literal(address: str, category: str) -> None:
    with pytest.raises(AddressRefusedError) as caught:
        AddressPolicy().check_host(address)
    assert caught.value.category == category


def test_the_development_setting_allows_private_but_never_unspecified_or_multicast() -> None:
    relaxed = AddressPolicy(allow_private_networks=True)
    for allowed in ("127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.254", "::1"):
        assert relaxed.refusal(ipaddress.ip_address(allowed)) is None
    for refused in ("0.0.0.0", "::", "224.0.0.1", "ff02::1"):
        assert relaxed.refusal(ipaddress.ip_address(refused)) is not None


def test_the_development_setting_logs_loudly(caplog: pytest.LogCaptureFixture) -> None:
    AddressPolicy(allow_private_networks=True).check_host("10.0.0.1")
    assert any(
        r.levelname == "WARNING" and "allow_private_networks" in r.getMessage()
        for r in caplog.records
    )


def test_explicit_networks_are_exceptions_and_nothing_more() -> None:
    policy = AddressPolicy.build(allowed_networks=["127.0.0.1/32"])
    policy.check_host("127.0.0.1")
    with pytest.raises(AddressRefusedError):
        policy.check_host("127.0.0.2")


def test_names_are_left_to_the_resolver() -> None:
    AddressPolicy().check_host("example.com")  # vetted when resolved, not here


async def test_a_public_name_resolving_to_a_private_address_is_refused() -> None:
    resolver = GuardedResolver(AddressPolicy(), StaticResolver({"files.example.com": ["10.1.2.3"]}))
    with pytest.raises(AddressRefusedError) as caught:
        await resolver.resolve("files.example.com", 443)
    assert caught.value.category == "private"


async def test_one_bad_address_among_good_ones_refuses_the_name() -> None:
    table = {"mixed.example.com": ["93.184.216.34", "169.254.169.254"]}
    resolver = GuardedResolver(AddressPolicy(), StaticResolver(table))
    with pytest.raises(AddressRefusedError):
        await resolver.resolve("mixed.example.com", 80)


async def test_public_answers_pass_through_unchanged() -> None:
    table = {"cdn.example.com": ["93.184.216.34", "2606:4700:4700::1111"]}
    resolver = GuardedResolver(AddressPolicy(), StaticResolver(table))
    results = await resolver.resolve("cdn.example.com", 443)
    assert [r["host"] for r in results] == table["cdn.example.com"]


# The table, through the downloader with the guard on (the default).
SSRF_TABLE = [
    "http://127.0.0.1/a.wav",
    "http://localhost:8080/a.wav",
    "http://10.0.0.8/a.wav",
    "http://172.16.5.4/a.wav",
    "http://192.168.1.20/a.wav",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/a.wav",
    "http://[::ffff:127.0.0.1]/a.wav",
    "https://[::ffff:a9fe:a9fe]/a.wav",
    "http://[fe80::1]/a.wav",
    "http://0.0.0.0:9000/a.wav",
    "https://files.example.com/a.wav",  # a public-looking name resolving to 10.1.2.3
    "https://metadata.example.com/a.wav",  # ... and one resolving to 169.254.169.254
]
TABLE_DNS = {
    "localhost": ["127.0.0.1"],
    "files.example.com": ["10.1.2.3"],
    "metadata.example.com": ["169.254.169.254"],
}


@pytest.mark.parametrize("url", SSRF_TABLE)
async def test_the_downloader_refuses_the_ssrf_table(url: str) -> None:
    async with HttpDownloader(
        resolver=StaticResolver(TABLE_DNS), connect_timeout_s=0.5, timeout_s=1.0
    ) as downloader:
        with pytest.raises(AudioDownloadError) as caught:
            await downloader.fetch(url)
    message = caught.value.message
    assert message == "the audio URL points to an address that is not allowed"
    assert "10.1.2.3" not in message
    assert "169.254" not in message


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.wav", "file:///etc/passwd", "gopher://x/", "ws://a/b", "nope"]
)
async def test_only_http_and_https_are_fetched(url: str) -> None:
    async with HttpDownloader(resolver=StaticResolver({})) as downloader:
        with pytest.raises(AudioDownloadError, match="http"):
            await downloader.fetch(url)
