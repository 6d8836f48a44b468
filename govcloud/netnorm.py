"""Security-group rules by meaning, not spelling: canonical networks and what a group exposes.

Policies are plain JSON Schema, so text comparison is all they can do; this module makes the text
canonical and computes what text comparison cannot:

- ``parse_remote`` parses a rule's ``remote`` with :mod:`ipaddress`. Any spelling of a network
  (``0.0.0.0/00``, ``0::/0``, ``0:0:0:0:0:0:0:0/0``, ``0000::/0``) becomes one canonical text
  (``str(network)``). A CIDR with host bits set (``10.0.0.1/8``) is an error in a request: the
  author must say which network they mean (the live cloud's prefixes, which neutron has already
  masked, are read with ``strict=False``: that is what neutron enforces). IPv4 octets with leading
  zeros (``010.0.0.0/8``) are an error: some tools read them as octal.
- IPv6 networks that carry IPv4 addresses also count in the IPv4 space: IPv4-mapped
  (``::ffff:0:0/96``), IPv4-compatible (``::/96``), NAT64 (``64:ff9b::/96``, RFC 6052) and 6to4
  (``2002::/16``). So ``::ffff:0:0/96`` reaches the whole IPv4 internet.
- ``scope_of(remotes)`` classifies a *union* of remotes: ``world`` when it covers every public
  address of IPv4 or of IPv6 (``0.0.0.0/1`` + ``128.0.0.0/1`` is the world), ``public`` when it
  covers more public addresses than one IPv4 /8 (2**24) or one IPv6 /32 (2**96, an LIR
  allocation), else None. Private, loopback, link-local, documentation, multicast and reserved
  blocks are not public.
- ``group_exposure(rules)`` sweeps a group's ingress rules per protocol over the port axis, so
  the union is taken per (protocol, port range): two halves of the world on port 22 expose 22.
  A protocol-less rule (``any``) covers every protocol and every port.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from govcloud.i18n import _

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

V4_WORLD = "0.0.0.0/0"
V6_WORLD = "::/0"
PORT_PROTOCOLS = ("tcp", "udp", "sctp", "udplite", "dccp")
MAX_PORT = 65535
# More public addresses than this in one union count as "open to the public" (wider than a /8).
V4_PUBLIC_THRESHOLD = 2**24
V6_PUBLIC_THRESHOLD = 2**96

# IPv6 prefixes that embed an IPv4 address right after the prefix.
_EMBEDDINGS = tuple(
    ipaddress.IPv6Network(p) for p in ("::ffff:0:0/96", "::/96", "64:ff9b::/96", "2002::/16")
)
# IANA special-purpose blocks that are not reachable from the internet (RFC 6890 and successors).
_V4_NOT_PUBLIC = tuple(ipaddress.IPv4Network(p) for p in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
))
_V6_NOT_PUBLIC = tuple(ipaddress.IPv6Network(p) for p in (
    "::/8", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
))
_LEADING_ZERO_OCTET = re.compile(r"(?:^|\.)0[0-9]")


class RemoteError(ValueError):
    """A ``remote`` that is not one unambiguous network; the message says what to write."""


@lru_cache(maxsize=4096)
def parse_remote(text: str, *, strict: bool = True) -> Network:
    """The network a rule's ``remote`` names (a bare address is a /32 or /128)."""
    if not isinstance(text, str) or not text or text != text.strip():
        raise RemoteError(_("{value} is not a CIDR; write it like 10.20.0.0/24").format(
            value=repr(text)))
    address = text.partition("/")[0]
    if "%" in text:
        raise RemoteError(_("{value} has an IPv6 zone index; security groups take no "
                            "zone").format(value=repr(text)))
    if ":" not in address and _LEADING_ZERO_OCTET.search(address):
        raise RemoteError(
            _("{value} has an IPv4 octet with a leading zero, which some tools read as octal; "
              "write the octets without leading zeros").format(value=repr(text))
        )
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        try:
            fixed = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise RemoteError(
                _("{value} is not a CIDR ({error}); write it like 10.20.0.0/24").format(
                    value=repr(text), error=exc)
            ) from None
        if strict:
            raise RemoteError(_("{value} has host bits set; did you mean {fixed}?").format(
                value=repr(text), fixed=fixed)) from None
        return fixed


def canonical_remote(text: str, *, strict: bool = True) -> str:
    """The canonical text of a network (``0.0.0.0/00`` → ``0.0.0.0/0``)."""
    return str(parse_remote(text, strict=strict))


def default_remote(ethertype: str | None) -> str:
    """What a rule without ``remote`` admits (OpenStack: the whole family of its ethertype)."""
    return V6_WORLD if ethertype == "IPv6" else V4_WORLD


def ipv4_view(net: Network) -> ipaddress.IPv4Network | None:
    """The IPv4 addresses an IPv6 network carries (mapped, compatible, NAT64, 6to4), if any."""
    if net.version == 4:
        return net  # type: ignore[return-value]
    assert isinstance(net, ipaddress.IPv6Network)
    for prefix in _EMBEDDINGS:
        if net.prefixlen <= prefix.prefixlen and prefix.subnet_of(net):
            return ipaddress.IPv4Network("0.0.0.0/0")
        if net.subnet_of(prefix):
            shift = 128 - prefix.prefixlen - 32
            v4 = (int(net.network_address) >> shift) & 0xFFFFFFFF
            length = min(net.prefixlen - prefix.prefixlen, 32)
            return ipaddress.IPv4Network((v4, length), strict=False)
    return None


Intervals = tuple[tuple[int, int], ...]  # sorted, disjoint, inclusive


def _merge(spans: Iterable[tuple[int, int]]) -> Intervals:
    out: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if out and low <= out[-1][1] + 1:
            if high > out[-1][1]:
                out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return tuple(out)


def _span(net: Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def _size(spans: Intervals) -> int:
    return sum(high - low + 1 for low, high in spans)


def _intersection(a: Intervals, b: Intervals) -> int:
    """How many addresses two interval lists share."""
    total, i, j = 0, 0, 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low <= high:
            total += high - low + 1
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


_V4_BLOCKED = _merge(_span(n) for n in _V4_NOT_PUBLIC)
_V6_BLOCKED = _merge(_span(n) for n in _V6_NOT_PUBLIC)
_V4_PUBLIC_TOTAL = 2**32 - _size(_V4_BLOCKED)
_V6_PUBLIC_TOTAL = 2**128 - _size(_V6_BLOCKED)


def public_addresses(nets: Iterable[Network]) -> tuple[int, int]:
    """How many public IPv4 and IPv6 addresses the union of ``nets`` covers (embedded IPv4
    addresses of IPv6 networks count as IPv4)."""
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    for net in nets:
        view = ipv4_view(net)
        if view is not None:
            v4.append(_span(view))
        if net.version == 6:
            v6.append(_span(net))
    m4, m6 = _merge(v4), _merge(v6)
    return _size(m4) - _intersection(m4, _V4_BLOCKED), _size(m6) - _intersection(m6, _V6_BLOCKED)


@lru_cache(maxsize=4096)
def _scope(remotes: frozenset[str]) -> str | None:
    nets = [parse_remote(r, strict=False) for r in remotes]
    v4, v6 = public_addresses(nets)
    if v4 >= _V4_PUBLIC_TOTAL or v6 >= _V6_PUBLIC_TOTAL:
        return "world"
    if v4 > V4_PUBLIC_THRESHOLD or v6 > V6_PUBLIC_THRESHOLD:
        return "public"
    return None


def scope_of(remotes: Iterable[str]) -> str | None:
    """``world``, ``public`` or None for the union of canonical remotes (see module doc).
    Remotes that are not networks (``group:<id>``) add nothing."""
    return _scope(frozenset(r for r in remotes if is_network(r)))


def is_network(remote: Any) -> bool:
    if not isinstance(remote, str):
        return False
    try:
        parse_remote(remote, strict=False)
    except RemoteError:
        return False
    return True


@lru_cache(maxsize=4096)
def has_public(remote: Any) -> bool:
    """Whether a remote admits any public address (so it shares the blame for an exposure)."""
    if not is_network(remote):
        return False
    v4, v6 = public_addresses([parse_remote(remote, strict=False)])
    return bool(v4 or v6)


@lru_cache(maxsize=4096)
def covers_family(remote: Any) -> bool:
    """Whether one remote alone admits every public address of IPv4 or of IPv6."""
    return is_network(remote) and _scope(frozenset([remote])) == "world"


# ---------------------------------------------------------------- exposure of a group


Segment = tuple[int | None, int | None, str, frozenset[int]]  # low, high, scope, blamed rules


def _flat(members: Sequence[tuple[int, str]]) -> list[Segment]:
    """A protocol without ports (icmp, any): one segment if the union is open."""
    scope = scope_of(remote for _index, remote in members)
    blamed = frozenset(index for index, remote in members if has_public(remote))
    return [(None, None, scope, blamed)] if scope and blamed else []


def _swept(members: Sequence[tuple[int, int, int, str]]) -> list[Segment]:
    """Port segments of one protocol, each with the union of the rules covering it, adjacent
    segments of the same scope and blame merged. ``members``: (index, low, high, remote)."""
    cuts = sorted({m[1] for m in members} | {m[2] + 1 for m in members})
    out: list[Segment] = []
    for low, nxt in zip(cuts, cuts[1:], strict=False):
        high = nxt - 1
        covering = [m for m in members if m[1] <= low and m[2] >= high]
        scope = scope_of(m[3] for m in covering) if covering else None
        blamed = frozenset(m[0] for m in covering if has_public(m[3]))
        if not scope or not blamed:
            continue
        if out and out[-1][2] == scope and out[-1][1] == low - 1 and out[-1][3] == blamed:
            out[-1] = (out[-1][0], high, scope, blamed)
        else:
            out.append((low, high, scope, blamed))
    return out


def group_exposure(rules: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                 dict[int, list[dict[str, Any]]]]:
    """What a group's ingress rules expose to the public, as merged segments
    ``{protocol, port_min?, port_max?, scope}``, and per rule index the segments it shares the
    blame for (clipped to its own port range). Rules are normalised: canonical ``remote``,
    ``protocol`` (``any`` for none), ``port_min``/``port_max`` on port protocols."""
    ingress = [(i, r) for i, r in enumerate(rules) if r.get("direction") == "ingress"]
    protocols = {str(r.get("protocol", "any")) for _index, r in ingress}
    axes = sorted(({"tcp", "udp"} | protocols) - {"any"}) + (["any"] if "any" in protocols else [])
    summary: list[dict[str, Any]] = []
    per_rule: dict[int, list[dict[str, Any]]] = {}
    for axis in axes:
        flat: list[tuple[int, str]] = []
        ported: list[tuple[int, int, int, str]] = []
        for index, rule in ingress:
            protocol = rule.get("protocol", "any")
            if protocol != axis and not (protocol == "any" and axis != "any"):
                continue
            remote = str(rule.get("remote", ""))
            if axis not in PORT_PROTOCOLS:
                flat.append((index, remote))
            elif protocol == "any" or "port_min" not in rule:
                ported.append((index, 1, MAX_PORT, remote))
            else:
                ported.append((index, int(rule["port_min"]), int(rule["port_max"]), remote))
        for low, high, scope, blamed in (_swept(ported) if ported else _flat(flat)):
            segment: dict[str, Any] = {"protocol": axis, "scope": scope}
            if low is not None:
                segment["port_min"], segment["port_max"] = low, high
            summary.append(segment)
            for index in sorted(blamed):
                own = dict(segment)
                rule = rules[index]
                if (low is not None and high is not None and "port_min" in rule
                        and rule.get("protocol") != "any"):
                    own["port_min"] = max(low, int(rule["port_min"]))
                    own["port_max"] = min(high, int(rule["port_max"]))
                per_rule.setdefault(index, []).append(own)
    return summary, per_rule


def allows_all(summary: Sequence[Mapping[str, Any]]) -> bool:
    """An exposure that admits every protocol, or every port of tcp or udp."""
    if any(s["protocol"] == "any" for s in summary):
        return True
    for protocol in ("tcp", "udp"):
        spans = _merge((s["port_min"], s["port_max"]) for s in summary
                       if s["protocol"] == protocol)
        if spans and spans[0][0] <= 1 and spans[0][1] >= MAX_PORT:
            return True
    return False
