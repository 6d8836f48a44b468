"""Test helper: a copy of the demo inventory with a roles.yaml signed by a fresh root key, a key
for every role, and the environment pinned to that root (GOVCLOUD_TRUST_ROOT)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from govcloud import roles, signing

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = {"department": ("刘强", "liu.qiang"), "ops": ("张伟", "zhang.wei"),
          "security": ("王芳", "wang.fang"), "audit": ("赵敏", "zhao.min"),
          "evidence": ("陈静", "chen.jing")}


@dataclass
class Keyring:
    inventory: Path
    root: signing.SigningKey
    keys: dict[str, signing.SigningKey] = field(default_factory=dict)
    key_files: dict[str, Path] = field(default_factory=dict)
    docs: list[dict] = field(default_factory=list)
    base_docs: list[dict] = field(default_factory=list)  # the inventory's own Roles (no keys)

    @property
    def roles_file(self) -> Path:
        return self.inventory / "roles.yaml"

    def write(self, docs: list[dict] | None = None, sign: bool = True) -> None:
        """Write roles.yaml (the inventory's own Roles, then these docs, else the keyring's) and
        sign it with the root."""
        docs = self.base_docs + (self.docs if docs is None else docs)
        self.roles_file.write_text(yaml.safe_dump_all(docs, allow_unicode=True,
                                                      sort_keys=False))
        if sign:
            roles.sign_roles(self.roles_file, self.root)

    def add(self, role: str, holder: str, account: str, algorithm: str = "sm2",
            name: str | None = None) -> signing.SigningKey:
        key = signing.generate(algorithm)
        name = name or role
        self.keys[name] = key
        path = self.inventory.parent / "keys" / f"{name}.key"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(signing.private_pem(key, None))
        self.key_files[name] = path
        self.docs.append(roles.role_document(role, holder, account, key))
        return key


def make_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 algorithms: dict[str, str] | None = None) -> Keyring:
    inventory = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", inventory)
    base: list[dict] = []
    if (inventory / "roles.yaml").exists():
        base = [d for d in yaml.safe_load_all((inventory / "roles.yaml").read_text()) if d]
        for doc in base:
            doc["spec"].pop("public_key", None)  # whoever holds those keys, it is not this test
    (inventory / "roles.yaml.sig").unlink(missing_ok=True)
    ring = Keyring(inventory, signing.generate("sm2"), base_docs=base)
    for role, (holder, account) in PEOPLE.items():
        ring.add(role, holder, account, (algorithms or {}).get(role, "sm2"))
    ring.write()
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(inventory))
    monkeypatch.setenv("GOVCLOUD_TRUST_ROOT", ring.root.fingerprint)
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(roles, "TRUST_ROOT_FILE", tmp_path / "no-etc-trust-root")
    return ring
