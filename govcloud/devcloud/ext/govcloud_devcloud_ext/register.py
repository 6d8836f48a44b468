"""Register what a fresh devcloud needs, idempotently (find, then create). Runs in the service venv.

Usage: ``python -m govcloud_devcloud_ext.register identity|resources`` with a JSON object on
stdin (passwords travel on stdin, never on the command line). ``identity`` needs only keystone;
``resources`` needs nova, neutron and glance.
"""

import json
import sys

import openstack

REGION = "RegionOne"
# type, name, port, path
CATALOG = (
    ("placement", "placement", 8778, ""),
    ("compute", "nova", 8774, "/v2.1"),
    ("network", "neutron", 9696, ""),
    ("volumev3", "cinderv3", 8776, "/v3/%(project_id)s"),
    ("image", "glance", 9292, ""),
)
# name: (vcpus, ram MiB, disk GiB). Tiny on the fake driver; names match govcloud's examples.
FLAVORS = {
    "c1m1": (1, 1024, 1),
    "c2m4": (2, 4096, 1),
    "c4m16": (4, 16384, 1),
    "c8m32": (8, 32768, 1),
}
IMAGES = ("kylin-v10-sp3", "debian-12")
# The external network's subnets: name, cidr, gateway, pool. There is no dataplane, so these
# are documentation (RFC 5737) and benchmarking (RFC 2544) addresses. Each router gateway takes
# one address; neutron tries the next subnet when one is full, so together they hold 241 + 2,045
# routers (a province's 1,000 tenants in bench/scale.py, with the tests' beside them).
EXTERNAL_SUBNETS = (
    ("public-subnet", "203.0.113.0/24", "203.0.113.1", "203.0.113.10", "203.0.113.250"),
    ("public-subnet-2", "198.18.0.0/21", "198.18.0.1", "198.18.0.2", "198.18.7.254"),
)


def _connect(spec):
    return openstack.connect(
        auth_url=spec["auth_url"],
        auth={"auth_url": spec["auth_url"], "username": "admin", "password": spec["admin_password"],
              "project_name": "admin", "user_domain_name": "Default",
              "project_domain_name": "Default"},
        region_name=REGION, identity_api_version="3",
    )


def _ensure_user(conn, name, password, project, roles):
    idp = conn.identity
    proj = idp.find_project(project, domain_id="default") or idp.create_project(
        name=project, domain_id="default", description="devcloud")
    user = idp.find_user(name, domain_id="default")
    if user is None:
        user = idp.create_user(name=name, password=password, domain_id="default",
                               default_project_id=proj.id)
    else:  # the password file may be newer than the database: make them agree
        idp.update_user(user, password=password)
    for role_name in roles:
        role = idp.find_role(role_name) or idp.create_role(name=role_name)
        idp.assign_project_role_to_user(proj, user, role)


def identity(conn, spec):
    _ensure_user(conn, "service", spec["service_password"], "service", ("admin", "service"))
    _ensure_user(conn, "devcloud-user", spec["user_password"], "devcloud-user",
                 ("member", "reader"))
    idp = conn.identity
    services = {s.type: s for s in idp.services()}
    endpoints = {(e.service_id, e.interface) for e in idp.endpoints()}
    for stype, name, port, path in CATALOG:
        service = services.get(stype) or idp.create_service(type=stype, name=name, enabled=True)
        for interface in ("public", "internal", "admin"):
            if (service.id, interface) not in endpoints:
                idp.create_endpoint(service_id=service.id, interface=interface, region_id=REGION,
                                    url=f"http://127.0.0.1:{port}{path}")


def resources(conn, spec):
    compute, network, image = conn.compute, conn.network, conn.image
    have = {f.name for f in compute.flavors(details=False)}
    for name, (vcpus, ram, disk) in FLAVORS.items():
        if name not in have:
            compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)

    public = network.find_network("public")
    if public is None:
        public = network.create_network(
            name="public", is_router_external=True, is_shared=False,
            provider_network_type="flat", provider_physical_network="public")
    have = {s.name for s in network.subnets(network_id=public.id)}
    for name, cidr, gateway, first, last in EXTERNAL_SUBNETS:
        if name not in have:
            network.create_subnet(
                name=name, network_id=public.id, ip_version=4, cidr=cidr, gateway_ip=gateway,
                is_dhcp_enabled=False, allocation_pools=[{"start": first, "end": last}])

    # An encrypted volume type (LUKS, front-end), as MLPS level-3 tenants ask for.
    storage = conn.block_storage
    vtype = storage.find_type("encrypted")
    if vtype is None:
        vtype = storage.create_type(name="encrypted", description="LUKS-encrypted volumes")
    try:
        current = storage.get_type_encryption(vtype.id)
    except openstack.exceptions.NotFoundException:
        current = None
    if current is None or not getattr(current, "provider", None):
        storage.create_type_encryption(vtype, provider="luks", cipher="aes-xts-plain64",
                                       key_size=256, control_location="front-end")

    have = {i.name for i in image.images() if i.status == "active"}
    for name in IMAGES:
        if name in have:
            continue
        for stale in image.images(name=name):  # a queued leftover of an interrupted upload
            image.delete_image(stale)
        # The fake virt driver never reads the bits: 1 MiB of zeros, raw.
        image.create_image(name=name, data=b"\0" * (1 << 20), disk_format="raw",
                           container_format="bare", visibility="public",
                           allow_duplicates=True, wait=True)


def main():
    phase = sys.argv[1]
    spec = json.load(sys.stdin)
    conn = _connect(spec)
    {"identity": identity, "resources": resources}[phase](conn, spec)
    print(f"devcloud register {phase}: ok")


if __name__ == "__main__":
    main()
