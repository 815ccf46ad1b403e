"""The SSRF guard: which IP addresses outbound connections may reach, enforced at DNS resolution.

The guard is an aiohttp resolver. The connector connects only to the addresses its resolver
returns, so vetting them there both checks the address and pins the connection to it: a second,
different DNS answer (rebinding) never reaches a socket. IP literals skip aiohttp's resolver, so
:meth:`AddressPolicy.check_host` vets them before each request.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = [
    "AddressPolicy",
    "AddressRefusedError",
    "GuardedResolver",
    "IPAddress",
    "IPNetwork",
    "classify",
]

_log = logging.getLogger("voiceauth_adapters.http")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# NAT64 (RFC 6052) embeds an IPv4 address in the last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Refused even when private networks are allowed for development: never a real server.
_ALWAYS_REFUSED = ("unspecified", "multicast", "reserved")


class AddressRefusedError(OSError):
    """A host resolved to (or is) an address the policy refuses.

    An ``OSError`` so that aiohttp treats it as a failed lookup and opens no connection.

    Args:
        host: The host name or literal that was asked for.
        category: Why it is refused (``loopback``, ``private``, ``link_local``, ...); for logs.
    """

    def __init__(self, host: str, category: str) -> None:
        super().__init__(f"{host} resolves to a {category} address")
        self.host = host
        self.category = category


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify(address: IPAddress) -> str | None:
    """The reason an address is not a public unicast one, or None if it is public.

    IPv6 forms that carry an IPv4 address (``::ffff:a.b.c.d``, 6to4, Teredo, NAT64) are judged
    by the IPv4 address they carry as well.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = classify(embedded)
            if inner is not None:
                return inner
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link_local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site_local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("not_global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressPolicy:
    """Which addresses may be reached.

    By default only public unicast addresses. ``allow_private_networks`` (development and tests
    only) also allows loopback, private, link-local and other non-global unicast addresses;
    unspecified, multicast and reserved addresses stay refused. ``allowed_networks`` are
    explicit exceptions (an internal file store, or a test server's own address).

    Args:
        allow_private_networks: Allow non-public unicast addresses (development only).
        allowed_networks: Networks allowed whatever their kind.
    """

    allow_private_networks: bool = False
    allowed_networks: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def build(
        cls, *, allow_private_networks: bool = False, allowed_networks: Iterable[str] = ()
    ) -> AddressPolicy:
        """A policy from plain values (``allowed_networks`` as CIDR strings)."""
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks)
        return cls(allow_private_networks=allow_private_networks, allowed_networks=networks)

    def refusal(self, address: IPAddress) -> str | None:
        """Why the address is refused, or None if it may be reached."""
        if any(address in network for network in self.allowed_networks):
            return None
        category = classify(address)
        if category is None:
            return None
        if self.allow_private_networks and category not in _ALWAYS_REFUSED:
            _log.warning(
                "connecting to a %s address because allow_private_networks is on "
                "(development only: never enable it in production)",
                category,
            )
            return None
        return category

    def check_host(self, host: str) -> None:
        """Vet a URL host that is an IP literal (names are vetted when resolved).

        Raises:
            AddressRefusedError: The literal is refused.
        """
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return  # a name: the resolver vets what it resolves to
        category = self.refusal(address)
        if category is not None:
            raise AddressRefusedError(host, category)


class GuardedResolver(AbstractResolver):
    """Resolves with an inner resolver and refuses the host if ANY of its addresses is refused.

    Refusing the whole answer (rather than dropping bad entries) means a name that points at an
    internal address is never half-trusted.

    Args:
        policy: What may be reached.
        inner: The resolver that does the lookup (aiohttp's threaded resolver by default; tests
            inject one that answers from a table).
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The vetted addresses of ``host``.

        Raises:
            AddressRefusedError: Some address of the host is refused.
            OSError: The lookup failed.
        """
        if self._inner is None:
            from aiohttp.resolver import ThreadedResolver  # noqa: PLC0415  # needs a running loop

            self._inner = ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"])
            category = self._policy.refusal(address)
            if category is not None:
                raise AddressRefusedError(host, category)
        return results

    async def close(self) -> None:
        """Release the inner resolver."""
        if self._inner is not None:
            await self._inner.close()
