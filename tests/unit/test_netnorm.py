"""netnorm held against ipaddress: canonical spellings, unions, exposure of a group's rules.

Property-style: many generated networks of both families, each respelled the ways a person (or
an attacker) might write it, must canonicalise to ipaddress's own text; unions of generated
networks must count exactly the public addresses ipaddress counts.
"""

from __future__ import annotations

import ipaddress
import random

import pytest

from govcloud.netnorm import (
    RemoteError,
    allows_all,
    canonical_remote,
    covers_family,
    group_exposure,
    ipv4_view,
    parse_remote,
    public_addresses,
    scope_of,
)

RNG_SEED = 20261201
V4_BLOCKED = [ipaddress.ip_network(p) for p in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")]


def _random_network(rng: random.Random, version: int) -> ipaddress._BaseNetwork:
    bits = 32 if version == 4 else 128
    prefix = rng.randint(0, bits)
    address = rng.getrandbits(bits)
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    return cls((address, prefix), strict=False)


def _respell_v6(net: ipaddress.IPv6Network, rng: random.Random) -> str:
    """The exploded form, with random leading zeros dropped, random case, and a prefix with
    leading zeros: all spellings of the same network."""
    groups = net.network_address.exploded.split(":")
    groups = [g.lstrip("0") or "0" if rng.random() < 0.5 else g for g in groups]
    text = ":".join(g.upper() if rng.random() < 0.5 else g for g in groups)
    prefix = f"{net.prefixlen:0{rng.randint(1, 3)}d}"
    return f"{text}/{prefix}"


def _respell_v4(net: ipaddress.IPv4Network, rng: random.Random) -> str:
    prefix = f"{net.prefixlen:0{rng.randint(1, 3)}d}"  # /08, /008: the prefix is decimal
    return f"{net.network_address}/{prefix}"


def test_canonical_equals_ipaddress_for_generated_networks_of_both_families():
    rng = random.Random(RNG_SEED)
    for _ in range(3000):
        version = rng.choice((4, 6))
        net = _random_network(rng, version)
        spelled = _respell_v4(net, rng) if version == 4 else _respell_v6(net, rng)
        assert canonical_remote(spelled) == str(net), spelled
        assert parse_remote(spelled) == net


@pytest.mark.parametrize("spelling", [
    "0.0.0.0/0", "0.0.0.0/00", "0.0.0.0/000",
    "::/0", "0::/0", "::0/0", "0:0:0:0:0:0:0:0/0", "0000:0000::/0", "0::0/00",
    "::ffff:0:0/96", "::ffff:0.0.0.0/96", "0:0:0:0:0:FFFF:0:0/96", "64:ff9b::/96", "2002::/16",
])
def test_every_spelling_of_the_whole_space_is_any(spelling):
    assert covers_family(canonical_remote(spelling)), spelling
    assert scope_of([canonical_remote(spelling)]) == "world"


@pytest.mark.parametrize("bad, words", [
    ("010.0.0.0/8", "leading zero"),
    ("10.0.0.1/8", "host bits set; did you mean 10.0.0.0/8"),
    ("0/0", "not a CIDR"),
    ("0.0/0", "not a CIDR"),
    (" 0.0.0.0/0", "not a CIDR"),
    ("fe80::1%eth0/128", "zone index"),
    ("0.0.0.0/33", "not a CIDR"),
])
def test_ambiguous_or_wrong_remotes_are_errors(bad, words):
    with pytest.raises(RemoteError, match=words.replace("(", r"\(")):
        parse_remote(bad)


def test_live_prefixes_are_read_as_neutron_masks_them():
    assert canonical_remote("10.0.0.1/8", strict=False) == "10.0.0.0/8"


def _reference_public_v4(nets: list[ipaddress.IPv4Network]) -> int:
    total = 0
    for net in ipaddress.collapse_addresses(nets):
        total += net.num_addresses
        for blocked in V4_BLOCKED:
            if net.overlaps(blocked):
                total -= min(net.num_addresses, blocked.num_addresses)
    return total


def test_union_counts_public_addresses_like_ipaddress():
    rng = random.Random(RNG_SEED + 1)
    for _ in range(1500):
        nets = [_random_network(rng, 4) for _ in range(rng.randint(1, 6))]
        v4, v6 = public_addresses(nets)
        assert v6 == 0
        assert v4 == _reference_public_v4(nets), nets


def _partition(rng: random.Random, net: ipaddress._BaseNetwork, depth: int) -> list:
    """A random partition of ``net`` into CIDR blocks."""
    if depth == 0 or net.prefixlen >= net.max_prefixlen or rng.random() < 0.3:
        return [net]
    low, high = net.subnets()
    return _partition(rng, low, depth - 1) + _partition(rng, high, depth - 1)


@pytest.mark.parametrize("version", [4, 6])
def test_a_partition_of_the_world_is_the_world_and_a_hole_is_not(version):
    rng = random.Random(RNG_SEED + version)
    world = ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")
    for _ in range(60):
        pieces = _partition(rng, world, 8)
        texts = [str(p) for p in pieces]
        assert scope_of(texts) == "world", texts
        if len(pieces) > 1:
            dropped = rng.randrange(len(pieces))
            rest = texts[:dropped] + texts[dropped + 1:]
            missing = pieces[dropped]
            family = 0 if version == 4 else 1
            if public_addresses([missing])[family]:  # a hole of public addresses
                nets = [ipaddress.ip_network(t) for t in rest]
                assert public_addresses(nets)[family] < public_addresses(pieces)[family]
                if version == 4:  # (an IPv6 rest may still hold ::ffff:0:0/96: IPv4's world)
                    assert scope_of(rest) != "world", (texts, texts[dropped])


def test_public_wider_than_a_slash_8_counts_as_open():
    assert scope_of(["11.0.0.0/8"]) is None  # one /8: not wider
    assert scope_of(["11.0.0.0/8", "12.0.0.0/8"]) == "public"
    assert scope_of(["1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6"]) == "public"
    assert scope_of(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]) is None  # private
    assert scope_of(["0.0.0.0/1"]) == "public"
    assert scope_of(["240e::/20"]) == "public"  # wider than an IPv6 /32
    assert scope_of(["240e::/32"]) is None
    assert scope_of(["fc00::/7"]) is None  # unique local
    assert scope_of(["group:abc"]) is None


def test_ipv4_view_of_embedded_ipv6_networks():
    assert ipv4_view(ipaddress.ip_network("::ffff:10.0.0.0/104")) == ipaddress.ip_network(
        "10.0.0.0/8")
    assert ipv4_view(ipaddress.ip_network("64:ff9b::/96")) == ipaddress.ip_network("0.0.0.0/0")
    assert ipv4_view(ipaddress.ip_network("2002:0b00::/24")) == ipaddress.ip_network(
        "11.0.0.0/8")
    assert ipv4_view(ipaddress.ip_network("2001:db8::/32")) is None


def _rule(protocol="tcp", low=None, high=None, remote="0.0.0.0/0", direction="ingress"):
    rule = {"direction": direction, "protocol": protocol, "remote": remote}
    if low is not None:
        rule["port_min"], rule["port_max"] = low, high if high is not None else low
    return rule


def test_exposure_is_the_union_per_port_range():
    rules = [_rule(low=22, remote="0.0.0.0/1"), _rule(low=20, high=30, remote="128.0.0.0/1"),
             _rule(low=443, remote="10.0.0.0/8")]
    summary, per_rule = group_exposure(rules)
    world = [s for s in summary if s["scope"] == "world"]
    assert world == [{"protocol": "tcp", "scope": "world", "port_min": 22, "port_max": 22}]
    assert {"protocol": "tcp", "scope": "world", "port_min": 22, "port_max": 22} in per_rule[0]
    assert 2 not in per_rule  # a private source shares no blame
    assert not allows_all(summary)


def test_protocol_less_rule_is_every_protocol_and_port():
    summary, per_rule = group_exposure([_rule(protocol="any", remote="::/0")])
    assert {"protocol": "tcp", "scope": "world", "port_min": 1, "port_max": 65535} in summary
    assert {"protocol": "udp", "scope": "world", "port_min": 1, "port_max": 65535} in summary
    assert allows_all(summary) and per_rule[0]


def test_all_ports_as_two_ranges_is_allow_all_and_egress_is_not_exposure():
    split = [_rule(low=1, high=1024), _rule(low=1025, high=65535, remote="::/0")]
    assert allows_all(group_exposure(split)[0])
    assert group_exposure([_rule(protocol="any", direction="egress")]) == ([], {})


def test_icmp_exposure_has_no_ports_and_is_not_a_port_exposure():
    summary, _ = group_exposure([_rule(protocol="icmp")])
    assert summary == [{"protocol": "icmp", "scope": "world"}]
    assert not allows_all(summary)
