"""Two resources of one managed name in one tenant: keep one, set the others apart for deletion.

Names are what a re-run finds resources by, so neutron, nova and cinder (which, unlike keystone,
do not keep names unique) can end up holding two of one name when a create was carried out
while its caller saw the connection drop and created it again. The reader keeps the first of a
name and hands the others here (``Snapshot.clashes``). One is kept: the one in use (a router
with interfaces, a network with subnets or ports, a subnet or security group ports use, a
volume attached, a server with a volume), else the oldest; a subnet or rule follows the network
or group kept. The others are renamed ``<name> (copy <id>)`` so that each has a key and an id of
its own, and recorded in ``Snapshot.copies``; ``provision.plan.diff`` deletes them when the name
is managed (the rules of a group set apart go with it). Copies owned by different requests are
not ours to choose between: left as read (the first one read is planned with).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from govcloud.provision.desired import KINDS_ORDER, Resource

Key = tuple[str, str, str]
ROUTER_INTERFACE = "network:router_interface"


def copy_name(name: str, ident: str) -> str:
    return f"{name} (copy {ident})"


def facts(lists: Mapping[str, list[dict[str, Any]]], servers: Iterable[dict[str, Any]],
          volumes: Iterable[dict[str, Any]]) -> tuple[set[str], dict[str, str], dict[str, str]]:
    """From the raw lists: the ids in use, each id's creation time and each subnet's network
    and rule's group (a child follows the parent kept)."""
    used: set[str] = set()
    created: dict[str, str] = {}
    parent: dict[str, str] = {}
    for port in lists.get("ports", ()):
        used.add(port.get("network_id") or "")
        used.update(f.get("subnet_id") or "" for f in port.get("fixed_ips") or ())
        used.update(port.get("security_groups") or ())
        if port.get("device_owner") == ROUTER_INTERFACE:
            used.add(port.get("device_id") or "")
    for subnet in lists.get("subnets", ()):
        used.add(subnet.get("network_id") or "")
        parent[subnet["id"]] = subnet.get("network_id") or ""
    for group in lists.get("security groups", ()):
        for rule in group.get("security_group_rules") or ():
            parent[rule["id"]] = group["id"]
            created[rule["id"]] = str(rule.get("created_at") or "")
    for volume in volumes:
        for attachment in volume.get("attachments") or ():
            used.update((volume["id"], attachment.get("server_id") or ""))
    for name in ("networks", "subnets", "routers", "security groups"):
        for item in lists.get(name, ()):
            created[item["id"]] = str(item.get("created_at") or "")
    for item in (*servers, *volumes):
        created[item["id"]] = str(item.get("created") or item.get("created_at") or "")
    return used, created, parent


def set_apart(snap: Any, used: set[str], created: Mapping[str, str],
              parent: Mapping[str, str]) -> None:
    """Resolve ``snap.clashes`` (key -> [(resource, id, extra)] beyond the first) in place."""
    kept_ids: dict[Key, str] = {}
    for key in sorted(snap.clashes, key=lambda k: KINDS_ORDER.index(k[1])):
        first = next(r for r in snap.resources if r.key == key)
        candidates = [(first, snap.ids[key], snap.extra.get(key, {}))]
        for clash in snap.clashes[key]:  # one object seen twice (a port's two addresses) is one
            if clash[1] not in {c[1] for c in candidates}:
                candidates.append(clash)
        if len(candidates) == 1:
            continue
        if len({r.request for r, _, _ in candidates} - {""}) > 1:
            continue  # owned by different requests: a conflict for a person, not a copy
        keep = min(candidates, key=lambda c: _rank(c[0], c[1], used, created, parent, kept_ids,
                                                   snap.ids))
        kept_ids[key] = keep[1]
        if keep is not candidates[0]:
            snap.resources[snap.resources.index(first)] = keep[0]
            snap.ids[key] = keep[1]
            snap.extra.pop(key, None)
            if keep[2]:
                snap.extra[key] = keep[2]
        why = "in use" if keep[1] in used else "the oldest"
        for resource, ident, extra in candidates:
            if ident == keep[1]:
                continue
            copy = dataclasses.replace(resource, name=copy_name(resource.name, ident))
            snap.add(copy, ident, **extra)
            snap.copies[copy.key] = (key, f"kept {keep[1]} ({why})")
    snap.clashes.clear()
    # A group's rules go with it: those of a group set apart are not planned one by one.
    groups = {snap.ids[k] for k in snap.copies if k[1] == "security_group"}
    gone = {k for k, ident in snap.ids.items() if k[1] == "sg_rule" and parent.get(ident) in groups}
    if gone:
        snap.resources[:] = [r for r in snap.resources if r.key not in gone]
        for key in gone:
            snap.ids.pop(key, None)
            snap.copies.pop(key, None)


def _rank(resource: Resource, ident: str, used: set[str], created: Mapping[str, str],
          parent: Mapping[str, str], kept_ids: Mapping[Key, str],
          ids: Mapping[Key, str]) -> tuple[int, int, str, str]:
    """Lower is kept: the child of the parent kept, then in use, then the oldest."""
    follows = 1
    if resource.parent is not None and ident in parent:
        kind = {"subnet": "network", "sg_rule": "security_group"}.get(resource.kind)
        if kind is not None:
            wanted = kept_ids.get((resource.tenant, kind, resource.parent),
                                  ids.get((resource.tenant, kind, resource.parent)))
            follows = 0 if parent[ident] == wanted else 1
    return (follows, 0 if ident in used else 1, created.get(ident, ""), ident)
