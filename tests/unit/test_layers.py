"""The import rules of docs/guide.md, enforced on govcloud/ by reading its source (ast, not grep).

- openstacksdk (`openstack`, `keystoneauth1`) only under govcloud/cloud/ and govcloud/devcloud/;
- typer (and click, rich) only under govcloud/cli/;
- ansible_runner only in govcloud/hardening/runner.py;
- nothing outside govcloud/cli/ prints, writes to sys.stdout/sys.stderr or exits;
- nothing imports govcloud.cli but the CLI itself and govcloud/__main__.py.

A rule that does not hold yet is not hidden: its violations are listed in KNOWN, and the test
fails both on a new violation and on a listed one that is gone (then shorten the list).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "govcloud"

# top-level module -> where it may be imported (path prefixes relative to the repository)
ADAPTERS: dict[str, tuple[str, ...]] = {
    "openstack": ("govcloud/cloud/", "govcloud/devcloud/"),
    "keystoneauth1": ("govcloud/cloud/", "govcloud/devcloud/"),
    "typer": ("govcloud/cli/",),
    "click": ("govcloud/cli/",),
    "rich": ("govcloud/cli/",),
    "ansible_runner": ("govcloud/hardening/runner.py",),
}
CONSOLE_ALLOWED = ("govcloud/cli/",)
# A separate program: installed into devcloud's own service venv and run there
# (`python -m govcloud_devcloud_ext.register`); govcloud never imports it.
SEPARATE_PROGRAMS = ("govcloud/devcloud/ext/",)

# Violations that exist today (none: keep it so, or list one here with the issue that fixes it).
KNOWN: set[tuple[str, str]] = set()

_IMPORTERS = {"__import__", "import_module"}  # __import__("x"), importlib.import_module("x")
_EXITS = {"exit", "quit", "_exit", "SystemExit"}  # sys.exit, os._exit, builtins, raise SystemExit
_STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}


@dataclass(frozen=True)
class Use:
    line: int
    what: str  # "imports openstack", "prints", "exits", "writes to sys.stderr"


def uses(source: str, filename: str = "<src>") -> list[Use]:
    """What a module imports from outside and how it reaches the console or exits."""
    found: list[Use] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [Use(node.lineno, f"imports {a.name.split('.')[0]}") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(Use(node.lineno, f"imports {node.module.split('.')[0]}"))
            if node.module.split(".")[0] in ("sys", "os", "builtins"):
                for alias in node.names:  # from sys import exit, stdout
                    if alias.name in _EXITS:
                        found.append(Use(node.lineno, "exits"))
                    elif alias.name in _STREAMS:
                        found.append(Use(node.lineno, f"writes to sys.{alias.name}"))
                    elif alias.name == "print":
                        found.append(Use(node.lineno, "prints"))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            if (name in _IMPORTERS and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.append(Use(node.lineno, f"imports {node.args[0].value.split('.')[0]}"))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id == "print":
                found.append(Use(node.lineno, "prints"))
            elif node.id in _EXITS:
                found.append(Use(node.lineno, "exits"))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner, attr = node.value.id, node.attr
            if owner in ("sys", "os", "builtins") and attr in _EXITS:
                found.append(Use(node.lineno, "exits"))
            elif owner == "sys" and attr in _STREAMS:
                found.append(Use(node.lineno, f"writes to sys.{attr}"))
            elif owner == "builtins" and attr == "print":
                found.append(Use(node.lineno, "prints"))
    return sorted(set(found), key=lambda u: (u.line, u.what))


def broken_rules(rel: str, found: list[Use]) -> list[Use]:
    """The uses in file ``rel`` (a repository path) that break a rule."""
    bad = []
    for use in found:
        verb, _, module = use.what.partition(" ")
        if verb == "imports":
            allowed = ADAPTERS.get(module)
            if allowed is not None and not rel.startswith(allowed):
                bad.append(use)
        elif not rel.startswith(CONSOLE_ALLOWED):
            bad.append(use)
    return bad


def package_files() -> list[tuple[str, Path]]:
    files = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith(SEPARATE_PROGRAMS):
            files.append((rel, path))
    return files


def test_the_rules_hold_in_govcloud_except_the_known_violations():
    files = package_files()
    assert len(files) > 50 and any(rel == "govcloud/cli/app.py" for rel, _ in files)
    broken: dict[tuple[str, str], int] = {}
    for rel, path in files:
        for use in broken_rules(rel, uses(path.read_text(encoding="utf-8"), rel)):
            broken.setdefault((rel, use.what), use.line)
    new = {f"{rel}:{line}: {what}" for (rel, what), line in broken.items()
           if (rel, what) not in KNOWN}
    assert not new, "layer rule broken (see docs/guide.md, 'What may import what'): " + \
        "; ".join(sorted(new))
    gone = KNOWN - set(broken)
    assert not gone, f"fixed, remove from KNOWN in {Path(__file__).name}: {sorted(gone)}"


def govcloud_imports(source: str) -> set[str]:
    """The govcloud modules a module imports (absolute imports, dotted names)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "govcloud"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "govcloud":
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_nothing_but_the_cli_and_main_imports_the_cli():
    offenders = [rel for rel, path in package_files()
                 if not rel.startswith(("govcloud/cli/", "govcloud/__main__.py"))
                 and any(m == "govcloud.cli" or m.startswith("govcloud.cli.")
                         for m in govcloud_imports(path.read_text(encoding="utf-8")))]
    assert offenders == [], offenders
    main = (PACKAGE / "__main__.py").read_text(encoding="utf-8")
    assert any(m.startswith("govcloud.cli") for m in govcloud_imports(main))


def test_the_cli_is_where_printing_and_typer_live():
    # the scan sees what it should: the CLI does print/exit and import typer
    seen = {use.what for rel, path in package_files() if rel.startswith("govcloud/cli/")
            for use in uses(path.read_text(encoding="utf-8"), rel)}
    assert {"imports typer"} <= seen and seen & {"prints", "exits", "writes to sys.stderr"}
    runner = (PACKAGE / "hardening" / "runner.py").read_text(encoding="utf-8")
    assert "imports ansible_runner" in {u.what for u in uses(runner)}


# What tries to slip past the rules, as it would appear in a core module (govcloud/check.py).
SLIPS = {
    "import openstack": "imports openstack",
    "import openstack.exceptions as oe": "imports openstack",
    "from openstack import connection": "imports openstack",
    "from keystoneauth1 import session": "imports keystoneauth1",
    "def f():\n    import ansible_runner\n    return ansible_runner": "imports ansible_runner",
    "import importlib\nm = importlib.import_module('openstack.connection')": "imports openstack",
    "m = __import__('typer')": "imports typer",
    "from rich.console import Console": "imports rich",
    "print('hello')": "prints",
    "log = print\nlog('hello')": "prints",
    "import builtins\nbuiltins.print('x')": "prints",
    "from builtins import print as p": "prints",
    "import sys\nsys.exit(1)": "exits",
    "from sys import exit\nexit(2)": "exits",
    "import os\nos._exit(3)": "exits",
    "raise SystemExit(4)": "exits",
    "exit(5)": "exits",
    "import sys\nsys.stderr.write('x')": "writes to sys.stderr",
    "import sys\nout = sys.stdout": "writes to sys.stdout",
    "from sys import stdout": "writes to sys.stdout",
}


@pytest.mark.parametrize("source", list(SLIPS))
def test_a_slip_in_a_core_module_is_caught(source):
    broken = broken_rules("govcloud/check.py", uses(source))
    assert SLIPS[source] in {u.what for u in broken}, (source, broken)


@pytest.mark.parametrize("rel,source", [
    ("govcloud/cloud/session.py", "import openstack"),
    ("govcloud/devcloud/lifecycle.py", "from openstack import exceptions"),
    ("govcloud/cli/app.py", "import typer\nimport sys\nprint('x')\nsys.exit(1)"),
    ("govcloud/hardening/runner.py", "def run():\n    import ansible_runner"),
    ("govcloud/check.py", "import yaml\nfrom govcloud.model import Report\nimport jsonschema"),
    ("govcloud/check.py", "def f(printer):\n    return printer.exit_code"),  # names, not calls
])
def test_what_the_rules_allow(rel, source):
    assert broken_rules(rel, uses(source)) == []
