"""Validation: schema per kind, then what JSON Schema cannot say (CIDRs, ranges, references).

``load(paths)`` is the entry point every command uses: it reads, validates and indexes the
documents, returning only valid ones in the catalog and every problem as a ``DocError``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from govcloud import API_VERSION
from govcloud.authority import (
    REQUEST_KIND,
    inside,
    inventory_roots,
    refusal,
    settings_problems,
    waiver_problems,
)
from govcloud.documents import Catalog, Document, pointer
from govcloud.i18n import _
from govcloud.loader import LoadLimits, LoadResult, iter_yaml_files, load_file
from govcloud.model import DocError
from govcloud.netnorm import RemoteError, parse_remote
from govcloud.schemas import BLANK_PATTERN, COMPONENT_SLOTS, KINDS, document_schema
from govcloud.vocabulary_zh import MLPS_HINT, with_chinese

MAX_ERRORS_PER_DOCUMENT = 20


@dataclass(frozen=True, slots=True)
class Validated:
    catalog: Catalog
    errors: tuple[DocError, ...]  # invalid documents (exit 1)
    input_errors: tuple[DocError, ...]  # unreadable or unparsable input (exit 2)
    files: tuple[str, ...]
    request_files: frozenset[str] = frozenset()  # files read as requests (not the inventory)
    given_files: frozenset[str] = frozenset()  # files under the PATHs (requests or inventory)

    @property
    def all_errors(self) -> tuple[DocError, ...]:
        return self.input_errors + self.errors

    def requests(self) -> list[Document]:
        """The ResourceRequests under the PATHs given (not every one the inventory holds)."""
        return [d for d in self.catalog.of_kind(REQUEST_KIND) if d.file in self.given_files]


def _pattern_to_the_end(validator: Any, pattern: str, instance: Any, schema: Any
                        ) -> Iterator[ValidationError]:
    """``pattern``, except that a final ``$`` means the end of the string: Python's ``$`` also
    matches before a trailing newline, so ``REQ-1\\n`` (a block scalar) passed ``^...$``."""
    if not validator.is_type(instance, "string"):
        return
    anchored = pattern.endswith("$") and not pattern.endswith("\\$")
    compiled = _end_anchored(pattern) if anchored else re.compile(pattern)
    if not compiled.search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _end_anchored(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern[:-1] + r"\Z")


_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern_to_the_end})


@cache
def validator_for(kind: str) -> Draft202012Validator:
    return _Validator(document_schema(kind))  # type: ignore[no-any-return]


Paths = Iterable[str | os.PathLike[str]]


def load(
    paths: Paths = (),
    limits: LoadLimits | None = None,
    *,
    inventory: str | os.PathLike[str] | Paths | None = None,
) -> Validated:
    """Read and validate the inventory (every file under it) and the requests under ``paths``.

    A path that is the inventory or lies inside it is read as the inventory (once); every other
    path holds requests, and a document there that is not a ResourceRequest is refused (an input
    error, exit 2) and counts for nothing. ``inventory`` is a file, a folder or a list of them
    (the CLI resolves ``--inventory``, ``$GOVCLOUD_INVENTORY``, ``./inventory``); None: no
    authority data at all.
    """
    roots = inventory_roots(inventory)
    resolved_roots = [r.resolve() for r in roots]
    loaded = LoadResult()
    request_files: set[str] = set()
    given: set[str] = set()
    seen: dict[Path, list[str]] = {}  # resolved file -> the name its documents carry
    for source, is_inventory in ((roots, True), (paths, False)):
        for item in iter_yaml_files(source):
            if isinstance(item, DocError):
                loaded.input_errors.append(item)
                continue
            real = item.resolve()
            if real in seen:  # the inventory given as a PATH too, or a file named twice
                given.update(seen[real] if not is_inventory else ())
                continue
            part = load_file(item, limits)
            seen[real] = part.files
            if not is_inventory:
                given.update(part.files)
                if not inside(real, resolved_roots):
                    request_files.update(part.files)
                    part.documents = _requests_only(part.documents, part.input_errors)
            loaded.extend(part)
    errors = list(loaded.errors)
    candidates: list[Document] = []
    for doc in loaded.documents:
        doc_errors = schema_errors(doc)
        if doc_errors:
            errors.extend(doc_errors)
        else:
            candidates.append(doc)
    catalog = Catalog()
    for doc in candidates:
        earlier = catalog.add(doc)
        if earlier is not None:
            errors.append(
                DocError(
                    doc.file,
                    doc.line_of("/metadata/id"),
                    "/metadata/id",
                    _("duplicate {kind} id '{id}' (first defined at {where}); ids are unique "
                      "per kind").format(kind=doc.kind, id=doc.id,
                                         where=f"{earlier.file}:{earlier.line_of('/metadata/id')}"),
                )
            )
    invalid: set[int] = set()
    for doc, problems in reference_errors(catalog):
        invalid.add(id(doc))
        errors.extend(problems)
    valid = Catalog(d for d in catalog.documents if id(d) not in invalid)
    return Validated(valid, tuple(errors), tuple(loaded.input_errors), tuple(loaded.files),
                     frozenset(request_files), frozenset(given))


def _requests_only(documents: list[Document], input_errors: list[DocError]) -> list[Document]:
    """Documents of a request file: authority data there is refused and dropped (exit 2)."""
    kept = []
    for doc in documents:
        if doc.kind in KINDS and doc.kind != REQUEST_KIND:
            where = doc.id or "(no id)"
            input_errors.append(DocError(doc.file, doc.line_of("/kind"), "/kind",
                                         f"{doc.kind}/{where}: {refusal(doc.kind)}"))
        else:
            kept.append(doc)
    return kept


# ---------------------------------------------------------------- schema errors


def schema_errors(doc: Document) -> list[DocError]:
    body = doc.body
    if body.get("apiVersion") != API_VERSION:
        got = body.get("apiVersion")
        return [
            DocError(
                doc.file,
                doc.line_of("/apiVersion"),
                "/apiVersion",
                _("unknown apiVersion {got}; use apiVersion: {version}").format(
                    got=repr(got), version=API_VERSION),
            )
        ]
    if doc.kind not in KINDS:
        got = body.get("kind")
        guess = difflib.get_close_matches(str(got), KINDS, n=1)
        hint = _("did you mean '{guess}'? ").format(guess=guess[0]) if guess else ""
        return [
            DocError(
                doc.file,
                doc.line_of("/kind"),
                "/kind",
                _("unknown kind {got}; {hint}kinds are: {kinds}").format(
                    got=repr(got), hint=hint, kinds=", ".join(KINDS)),
            )
        ]
    errors = [best_match([e]) for e in validator_for(doc.kind).iter_errors(body)]
    # A typo'd field also makes its real name "missing": say it once, as the typo.
    guessed = {typo for e in errors if (typo := _typo_guess(e))}
    out = []
    for error in errors:
        if error.validator == "required" and _missing_field(error) in guessed:
            continue
        path, message = describe(error)
        if doc.kind == "Waiver":  # say what an invalid waiver means, as governance errors do
            message += _("; until fixed this waiver waives nothing")
        out.append(DocError(doc.file, doc.line_of(path), path, f"{doc.ref}: {message}"))
        if len(out) >= MAX_ERRORS_PER_DOCUMENT:
            break
    out.sort(key=lambda e: (e.line or 0, e.path))
    return out


def describe(error: ValidationError) -> tuple[str, str]:
    """A JSON Pointer and a plain-words message for one jsonschema error, said by the keyword
    that failed, with the field and the value, in the reader's language (jsonschema's own
    English text only for a keyword not listed here)."""
    path = pointer(error.absolute_path)
    validator = error.validator
    value: Any = error.validator_value
    instance = error.instance
    schema: Any = error.schema
    parts = path.split("/")
    field = parts[-1] or _("document")
    if field.isdigit() and len(parts) > 2:
        field = f"{parts[-2]}[{field}]"  # a list item: name it by its list
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in instance if k not in allowed]
        key = extra[0] if extra else "?"
        guess = _typo_guess(error)
        hint = _("did you mean '{guess}'? ").format(guess=guess) if guess else ""
        return (
            f"{path}/{key}",
            _("unknown field '{key}'; {hint}allowed here: {allowed}").format(
                key=key, hint=hint, allowed=", ".join(allowed)),
        )
    if validator == "required":
        return path, _("missing required field '{name}'; add it").format(
            name=_missing_field(error))
    if validator == "type":
        expected = value if isinstance(value, str) else _(" or ").join(value)
        if field == "mlps_level" and expected == "integer" and isinstance(instance, str):
            return path, _("'mlps_level' is {value}; {hint}").format(value=repr(instance),
                                                                    hint=_(MLPS_HINT))
        if expected == "string" and isinstance(instance, dict) and len(instance) == 1:
            return path, _("'{field}' must be a string, but YAML read a mapping: text with "
                           "': ' inside must be quoted").format(field=field)
        return path, _("'{field}' must be {expected}, not {kind} {value}").format(
            field=field, expected=_article(expected), kind=_type_name(instance),
            value=repr(instance))
    if validator == "enum":
        return path, _("'{field}' is {value}; use one of: {allowed}").format(
            field=field, value=repr(instance), allowed=with_chinese(value))
    if validator == "const":
        return path, _("'{field}' must be {expected}, not {value}").format(
            field=field, expected=repr(value), value=repr(instance))
    if validator == "pattern" and value == BLANK_PATTERN:
        return path, _("'{field}' is blank ({value}); write what it is, in words").format(
            field=field, value=repr(instance))
    if validator == "pattern":
        if value.startswith("^[A-Za-z0-9][A-Za-z0-9._-]"):
            return path, _(
                "{value} is not a valid id or name: start with a letter or digit, then up "
                "to 62 letters, digits, '.', '_' or '-' (no '/', no spaces)"
            ).format(value=repr(instance))
        if value == "^[1-9][0-9]{5}$":
            return path, _("{value} is not a 6-digit administrative division code").format(
                value=repr(instance))
        if value.startswith("^[0-9]{4}-"):
            return path, _("{value} is not a date; write YYYY-MM-DD").format(
                value=repr(instance))
        if isinstance(schema, dict) and schema.get("description"):  # says what to write
            return path, _("{value} is not {description}").format(
                value=repr(instance), description=schema["description"])
        return path, _("{value} does not match the expected form {pattern}").format(
            value=repr(instance), pattern=value)
    if validator in _BOUNDS:
        unlimited = _(" (-1 means unlimited)") if value == -1 else ""
        return path, _BOUNDS[validator]().format(field=field, value=repr(instance),
                                                 limit=value, unlimited=unlimited)
    if validator == "minItems":
        return path, _("'{field}' needs at least {count} item(s)").format(field=field,
                                                                         count=value)
    if validator == "uniqueItems":
        return path, _("'{field}' has repeated items; list each once").format(field=field)
    if validator == "minLength":
        return path, _("'{field}' must not be empty").format(field=field)
    if validator == "oneOf" and field == "port":
        return path, _("port {value} must be an integer 1-65535 or a 'low-high' range "
                       "string").format(value=repr(instance))
    return path, error.message


def _typo_guess(error: ValidationError) -> str | None:
    """Of an unknown field: the allowed field it is probably a typo of."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return None
    allowed = sorted(error.schema.get("properties", {}))  # type: ignore[union-attr]
    extra = [k for k in error.instance if k not in allowed]
    guess = difflib.get_close_matches(extra[0] if extra else "?", allowed, n=1)
    return guess[0] if guess else None


def _missing_field(error: ValidationError) -> Any:
    value: Any = error.validator_value
    missing = [k for k in value if isinstance(error.instance, dict) and k not in error.instance]
    return missing[0] if missing else value[0]


# Whole sentences per keyword, so a translation may reorder them.
_BOUNDS: dict[str, Callable[[], str]] = {
    "minimum": lambda: _("'{field}' is {value}; it must be at least {limit}{unlimited}"),
    "maximum": lambda: _("'{field}' is {value}; it must be at most {limit}{unlimited}"),
    "exclusiveMinimum": lambda: _("'{field}' is {value}; it must be more than {limit}"
                                  "{unlimited}"),
    "exclusiveMaximum": lambda: _("'{field}' is {value}; it must be less than {limit}"
                                  "{unlimited}"),
}


def _type_name(value: Any) -> str:
    names = {
        dict: _("a mapping"),
        list: _("a list"),
        str: _("a string"),
        bool: _("a boolean"),
        int: _("an integer"),
        float: _("a number"),
        type(None): _("null"),
    }
    return names.get(type(value), _("a value"))


def _article(word: str) -> str:
    names = {
        "object": _("a mapping"),
        "array": _("a list"),
        "string": _("a string"),
        "integer": _("an integer"),
        "number": _("a number"),
        "boolean": _("true or false"),
    }
    return names.get(word, word)


# ---------------------------------------------------------------- semantic checks

Check = Callable[[Document, Catalog], Iterator[DocError]]
_CHECKS: dict[str, list[Check]] = {}


def check(kind: str) -> Callable[[Check], Check]:
    """Register a semantic check for one kind."""

    def register(fn: Check) -> Check:
        _CHECKS.setdefault(kind, []).append(fn)
        return fn

    return register


def reference_errors(catalog: Catalog) -> Iterator[tuple[Document, list[DocError]]]:
    """Each document that fails a semantic check, with its errors."""
    for doc in catalog.documents:
        problems = [e for fn in _CHECKS.get(doc.kind, ()) for e in fn(doc, catalog)]
        if problems:
            yield doc, problems


def _err(doc: Document, path: str, message: str) -> DocError:
    return DocError(doc.file, doc.line_of(path), path, f"{doc.ref}: {message}")


def _ref(doc: Document, catalog: Catalog, path: str, kind: str, value: Any) -> Iterator[DocError]:
    if isinstance(value, str) and catalog.get(kind, value) is None:
        known = list(catalog.by_kind.get(kind, {}))
        guess = difflib.get_close_matches(value, known, n=1)
        hint = _("did you mean '{guess}'? ").format(guess=guess[0]) if guess else ""
        if kind == "Component":
            owner = _("the component catalog (信创目录) is kept by the inventory's maintainers "
                      "(the catalog owner): pick a catalogued component, or ask them to review "
                      "and add this product; a request cannot add it")
        elif kind in _AUTHORITY_REFS:
            owner = _("{kind}s come only from the inventory ($GOVCLOUD_INVENTORY, else "
                      "./inventory): check the id, or ask the inventory's maintainers"
                      ).format(kind=kind)
        else:
            owner = _("check the id ({kind} ids are unique)").format(kind=kind)
        yield _err(doc, path, _("{kind} '{value}' does not exist; {hint}{owner}").format(
            kind=kind, value=value, hint=hint, owner=owner))


_AUTHORITY_REFS = ("Department", "Platform", "MachineRoom", "System", "Role")


def _components(doc: Document, catalog: Catalog, base: str, components: Any) -> Iterator[DocError]:
    if not isinstance(components, dict):
        return
    for slot in COMPONENT_SLOTS:
        comp_id = components.get(slot)
        if comp_id is None:
            continue
        path = f"{base}/{slot}"
        comp = catalog.get("Component", comp_id)
        if comp is None:
            yield from _ref(doc, catalog, path, "Component", comp_id)
        elif comp.spec.get("category") != slot:
            yield _err(
                doc,
                path,
                _("component '{id}' is a {category}, not a {slot}; pick a {slot} from the "
                  "catalog").format(id=comp_id, category=comp.spec.get("category"), slot=slot),
            )


def _form_fields(doc: Document, system_base: str) -> Iterator[DocError]:
    """What the schema's patterns cannot say: a date that does not exist, a filing number on a
    system that is never filed. (A trailing newline is refused by the patterns themselves:
    ``$`` means the end of the string here, see ``validator_for``.)"""
    spec = doc.spec
    system = spec.get("system", {}) if system_base == "/spec/system" else spec
    if "filing_number" in system and system.get("mlps_level") == 1:
        yield _err(doc, f"{system_base}/filing_number",
                   _("a level-1 system is not filed with public security (备案 is for level 2 "
                     "and above); remove filing_number or correct mlps_level"))
    lease = spec.get("lease_until")
    if isinstance(lease, str):
        try:
            dt.date.fromisoformat(lease)
        except ValueError:
            yield _err(doc, "/spec/lease_until", _("{value} is not a date that exists; write "
                       "YYYY-MM-DD").format(value=repr(lease)))


@check("Department")
def _department(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    parent = doc.spec.get("parent")
    if parent is not None:
        if parent == doc.id:
            yield _err(doc, "/spec/parent", _("a department cannot be its own parent"))
        else:
            yield from _ref(doc, catalog, "/spec/parent", "Department", parent)


@check("MachineRoom")
def _room(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    yield from _ref(doc, catalog, "/spec/department", "Department", doc.spec.get("department"))


@check("System")
def _system(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    spec = doc.spec
    yield from _form_fields(doc, "/spec")
    yield from _ref(doc, catalog, "/spec/department", "Department", spec.get("department"))
    hosted = spec.get("hosted_in", "")
    if not hosted.startswith("cloud:"):
        yield from _ref(doc, catalog, "/spec/hosted_in", "MachineRoom", hosted)
    yield from _components(doc, catalog, "/spec/components", spec.get("components"))


@check("Image")
def _image(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    os_id = str(doc.spec.get("os", ""))
    comp = catalog.get("Component", os_id)
    if comp is None:
        yield from _ref(doc, catalog, "/spec/os", "Component", os_id)
    elif comp.spec.get("category") != "os":
        yield _err(doc, "/spec/os", _("component '{id}' is a {category}, not an os; name the "
                   "operating system the image boots").format(
                       id=os_id, category=comp.spec.get("category")))


@check("Waiver")
def _waiver(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    kind, _sep, target_id = doc.spec.get("target", "/").partition("/")
    if kind not in KINDS:
        yield _err(doc, "/spec/target", _("'{kind}' is not a document kind; write "
                                          "<Kind>/<id>").format(kind=kind))
    elif kind != REQUEST_KIND and not kind.startswith("Cloud"):
        # Requests and live resources come and go (the inventory's waiver for a request is read
        # when other requests are checked): a waiver of one that is absent matches nothing.
        yield from _ref(doc, catalog, "/spec/target", kind, target_id)
    for path, message in waiver_problems(doc, catalog):
        yield _err(doc, path, message + _("; until fixed this waiver waives nothing"))


@check("Settings")
def _settings(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    for path, message in settings_problems(doc, catalog):
        yield _err(doc, path, message)


@check("Role")
def _role(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    if "department" in doc.spec:
        yield from _ref(doc, catalog, "/spec/department", "Department", doc.spec["department"])


def parse_port(port: Any) -> tuple[int, int] | None:
    """``22`` → (22, 22); ``"8000-8080"`` → (8000, 8080); None when invalid."""
    if isinstance(port, int) and not isinstance(port, bool):
        return (port, port) if 1 <= port <= 65535 else None
    if isinstance(port, str) and "-" in port:
        low_s, _sep, high_s = port.partition("-")
        if low_s.isdigit() and high_s.isdigit():
            low, high = int(low_s), int(high_s)
            if 1 <= low <= high <= 65535:
                return low, high
    return None


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | str:
    try:
        return parse_remote(value)
    except RemoteError as exc:
        return str(exc)


def _unique_names(
    doc: Document, items: list[dict[str, Any]], base: str, what: str
) -> Iterator[DocError]:
    seen: set[Any] = set()
    for index, item in enumerate(items):
        name = item.get("name")
        if name in seen:
            yield _err(doc, f"{base}/{index}/name", _("{what} name '{name}' is used "
                                                      "twice").format(what=what, name=name))
        seen.add(name)


@check("ResourceRequest")
def _request(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    spec = doc.spec
    yield from _ref(doc, catalog, "/spec/department", "Department", spec.get("department"))
    yield from _ref(doc, catalog, "/spec/platform", "Platform", spec.get("platform"))
    yield from _form_fields(doc, "/spec/system")
    yield from _components(
        doc, catalog, "/spec/system/components", spec.get("system", {}).get("components")
    )
    for index, target in enumerate(spec.get("replaces", [])):
        if catalog.get("MachineRoom", target) is None and catalog.get("System", target) is None:
            yield _err(
                doc,
                f"/spec/replaces/{index}",
                _("'{target}' is neither a MachineRoom nor a System id; check the "
                  "inventory").format(target=target),
            )
    networks = spec.get("networks", [])
    yield from _unique_names(doc, networks, "/spec/networks", _("network"))
    seen_nets: list[tuple[int, Any]] = []
    for index, net in enumerate(networks):
        parsed = _network(net["cidr"])
        if isinstance(parsed, str):
            yield _err(doc, f"/spec/networks/{index}/cidr", parsed)
            continue
        for other_index, other in seen_nets:
            if parsed.version == other.version and parsed.overlaps(other):
                yield _err(
                    doc,
                    f"/spec/networks/{index}/cidr",
                    _("{cidr} overlaps network {index} ({other}); pick disjoint CIDRs").format(
                        cidr=parsed, index=other_index, other=other),
                )
        seen_nets.append((index, parsed))
    groups = spec.get("security_groups", [])
    yield from _unique_names(doc, groups, "/spec/security_groups", _("security group"))
    for g_index, group in enumerate(groups):
        for r_index, rule in enumerate(group.get("rules", [])):
            base = f"/spec/security_groups/{g_index}/rules/{r_index}"
            if "port" in rule and parse_port(rule["port"]) is None:
                yield _err(
                    doc,
                    f"{base}/port",
                    _("port {port} is outside 1-65535 or low > high; write 443 or "
                      "'8000-8080'").format(port=repr(rule["port"])),
                )
            if "port" in rule and rule.get("protocol") not in ("tcp", "udp"):
                # neutron refuses a port range without protocol; "any" has no ports either
                yield _err(doc, f"{base}/port", _("ports apply to tcp or udp rules only; "
                           "add protocol: tcp (or udp), or drop the port for every port"))
            if "remote" in rule:
                parsed = _network(rule["remote"])
                if isinstance(parsed, str):
                    yield _err(doc, f"{base}/remote", parsed)
                elif rule.get("ethertype", f"IPv{parsed.version}") != f"IPv{parsed.version}":
                    yield _err(doc, f"{base}/ethertype",
                               _("ethertype {ethertype} does not match remote {remote} (an "
                                 "IPv{version} network); write ethertype: IPv{version} or "
                                 "drop it").format(ethertype=rule["ethertype"],
                                                   remote=rule["remote"],
                                                   version=parsed.version))
    net_names = {n["name"] for n in networks}
    group_names = {g["name"] for g in groups} | {"default"}
    servers = spec.get("servers", [])
    yield from _unique_names(doc, servers, "/spec/servers", _("server"))
    instances: set[str] = set()
    for index, server in enumerate(servers):
        base = f"/spec/servers/{index}"
        if server["network"] not in net_names:
            yield _err(
                doc,
                f"{base}/network",
                _("network '{network}' is not in this request's networks ({names})").format(
                    network=server["network"], names=", ".join(sorted(net_names)) or _("none")),
            )
        for sg_index, sg in enumerate(server.get("security_groups", [])):
            if sg not in group_names:
                yield _err(
                    doc,
                    f"{base}/security_groups/{sg_index}",
                    _("security group '{group}' is not in this request's "
                      "security_groups").format(group=sg),
                )
        yield from _components(doc, catalog, f"{base}/components", server.get("components"))
        for i in range(1, server.get("count", 1) + 1):
            instances.add(f"{server['name']}-{i}")
    volumes = spec.get("volumes", [])
    yield from _unique_names(doc, volumes, "/spec/volumes", _("volume"))
    for index, volume in enumerate(volumes):
        target = volume.get("attach_to")
        if target is not None and target not in instances:
            yield _err(
                doc,
                f"/spec/volumes/{index}/attach_to",
                _("'{target}' is not a server of this request (servers are named "
                  "<name>-1..<name>-<count>: {names})").format(
                    target=target, names=", ".join(sorted(instances)) or _("none")),
            )
    yield from _unique_names(doc, spec.get("users", []), "/spec/users", _("user"))


# Checks of authority data (function vocabulary, department tree, component catalog) register
# themselves on import.
from govcloud import authority_checks as _authority_checks  # noqa: E402,F401
