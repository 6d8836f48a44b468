"""The resource kinds plan, apply and destroy manage: one small declarative class per kind (pure).

A kind says what it is once, here: its name, the kinds it needs in the same tenant (made before
it, and gone only after it: a network before its subnet, a subnet and a router before the
interface, a server after its network, security groups and quota), the fields compared with the
cloud, and which of them cannot change in place (a change there means replace, and the reason is
shown in the plan). Creation order (``KINDS_ORDER``), plan's ordering, apply's dependency graph
and destroy's all follow from ``needs``; nothing lists the kinds by hand elsewhere.

This is the pure core's half: the operations that carry a kind out on OpenStack (create, update,
delete, waits) are the class of the same name in ``govcloud/cloud/kinds.py``, which subclasses
the one here and names the function of ``govcloud/cloud/read.py`` that reads the kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from govcloud.schemas import SPEC_SCHEMAS

Change = tuple[str, Any, Any]  # (field, actual, desired)


class Kind:
    """What every kind declares (class attributes: a kind has no state)."""

    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ("project",)  # made first, deleted last (same tenant)
    fields: ClassVar[tuple[str, ...]] = ()  # what a Resource of the kind carries and plan compares
    fixed: ClassVar[Mapping[str, str]] = {}  # field -> why changing it means replace
    cost_s: ClassVar[float] = 0.1  # rough seconds a create takes on a busy cloud (apply's order)

    def replace_reasons(self, changes: Iterable[Change]) -> list[str]:
        """Why these changes cannot be made in place (empty: update in place)."""
        return [self.fixed[name] for name, _, _ in changes if name in self.fixed]


class Project(Kind):
    """The tenant: everything else needs it, and it goes last (with its ``default`` group)."""

    name = "project"
    needs = ()
    fields = ("description", "tags")


class Quota(Kind):
    """The project's quotas: set before servers and volumes, removed only with the project."""

    name = "quota"
    fields = tuple(SPEC_SCHEMAS["ResourceRequest"]["properties"]["quotas"]["properties"])


class User(Kind):
    name = "user"
    fields = ("email",)
    cost_s = 0.3


class RoleAssignment(Kind):
    """A user's role in the project, named ``user:role``."""

    name = "role_assignment"
    needs = ("project", "user")


class Network(Kind):
    name = "network"


class Subnet(Kind):
    name = "subnet"
    needs = ("project", "network")
    fields = ("cidr",)
    fixed = {"cidr": "a subnet's CIDR cannot change"}


class Router(Kind):
    name = "router"
    fields = ("external_gateway",)
    cost_s = 0.5


class RouterInterface(Kind):
    """The router's port on a subnet, named ``router:subnet``: the subnet and the router can
    only be deleted once it is gone."""

    name = "router_interface"
    needs = ("project", "router", "subnet")
    cost_s = 0.5


class SecurityGroup(Kind):
    name = "security_group"
    fields = ("description",)


class SecurityGroupRule(Kind):
    """Named by its content (rules have no names in OpenStack, and no update)."""

    name = "sg_rule"
    needs = ("project", "security_group")
    fields = ("direction", "protocol", "port_min", "port_max", "remote")


class Server(Kind):
    name = "server"
    needs = ("project", "quota", "network", "subnet", "security_group")
    fields = ("flavor", "image", "network", "security_groups", "metadata")
    fixed = {"flavor": "resizing is not done in place by govcloud",
             "image": "a server's image is fixed at boot (rebuild = replace)",
             "network": "the server's network is fixed at boot"}
    cost_s = 20.0


class Volume(Kind):
    name = "volume"
    needs = ("project", "quota")
    fields = ("size_gb", "encrypted")
    fixed = {"encrypted": "encryption is a volume type, fixed at creation"}
    cost_s = 4.0

    def replace_reasons(self, changes: Iterable[Change]) -> list[str]:
        changes = list(changes)
        reasons = super().replace_reasons(changes)
        size = next((c for c in changes if c[0] == "size_gb"), None)
        if size is not None and (size[1] or 0) > size[2]:
            reasons.append("a volume cannot shrink")
        return reasons


class VolumeAttachment(Kind):
    """A volume on a server, named ``volume:server``."""

    name = "volume_attachment"
    needs = ("project", "volume", "server")
    cost_s = 4.0


class UnknownKind(LookupError):
    """A resource kind no class here declares: a bug in the code that made the resource."""


def _registry(classes: Iterable[type[Kind]]) -> dict[str, Kind]:
    """The kinds by name, in creation order: each after everything it needs; among the ones
    ready at a step, the one listed first (so the order reads as the list does)."""
    listed = {cls.name: cls() for cls in classes}
    for kind in listed.values():
        unknown = [n for n in kind.needs if n not in listed]
        if unknown:
            raise UnknownKind(f"kind '{kind.name}' needs {unknown}, which no class in "
                              f"{__name__} declares")
    ordered: dict[str, Kind] = {}
    while len(ordered) < len(listed):
        ready = [k for k in listed.values()
                 if k.name not in ordered and all(n in ordered for n in k.needs)]
        if not ready:
            raise UnknownKind(f"the needs of kinds {sorted(set(listed) - set(ordered))} form a "
                              "cycle: nothing could be made first")
        ordered[ready[0].name] = ready[0]
    return ordered


KINDS: dict[str, Kind] = _registry([
    Project, Quota, User, RoleAssignment, Network, Subnet, Router, RouterInterface,
    SecurityGroup, SecurityGroupRule, Server, Volume, VolumeAttachment])
KINDS_ORDER: tuple[str, ...] = tuple(KINDS)  # creation order; deletion runs it backwards
RANK: dict[str, int] = {name: i for i, name in enumerate(KINDS_ORDER)}


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKind(f"resource kind '{name}' is not declared in {__name__} (known: "
                          f"{', '.join(KINDS_ORDER)})") from None


def dependents(name: str) -> frozenset[str]:
    """Every kind that needs ``name``, directly or through another: what must be gone (in the
    same tenant) before a resource of the kind is deleted."""
    return _DEPENDENTS[name]


def _all_dependents() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {name: set() for name in KINDS}
    for name in reversed(KINDS_ORDER):  # a kind's dependents come later in creation order
        for need in KINDS[name].needs:
            out[need] |= {name} | out[name]
    return {name: frozenset(found) for name, found in out.items()}


_DEPENDENTS = _all_dependents()
