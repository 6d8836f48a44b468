"""Load, compile and evaluate ``kind: Policy`` documents.

Each policy is compiled once (``compiler.compile_schema``) and indexed by the kinds it applies to,
so a document only meets the policies that can concern it and each document is resolved once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from govcloud.documents import Catalog, Document, pointer
from govcloud.errors import PolicyError
from govcloud.i18n import _, pick
from govcloud.model import DocError, Finding
from govcloud.policy.compiler import Failure, Predicate, compile_explainer, compile_schema
from govcloud.resolve import resolve
from govcloud.validate import load

FIXTURES_DIR = "fixtures"  # pass/fail fixtures live beside policies and are not policies


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    title: str
    severity: str
    applies_to: tuple[str, ...]
    select: tuple[str, ...]  # JSON Pointer tokens; "*" fans out over a list
    when: Any
    require: Any
    message: str
    remediation: str
    references: tuple[str, ...]
    waivable: bool
    family: str
    title_zh: str
    file: str
    line: int
    when_ok: Predicate = field(repr=False, compare=False)
    require_ok: Predicate = field(repr=False, compare=False)
    explain: Callable[[Any], Failure | None] = field(repr=False, compare=False)
    message_zh: str = ""
    remediation_zh: str = ""

    @classmethod
    def from_document(cls, doc: Document) -> Policy:
        spec = doc.spec
        for key in ("when", "require"):
            if key in spec:
                try:
                    Draft202012Validator.check_schema(spec[key])
                except SchemaError as exc:
                    where = f"{doc.file}:{doc.line_of('/spec/' + key)}"
                    raise PolicyError(
                        _("{where}: policy {id}: '{key}' is not a valid JSON Schema ({error})")
                        .format(where=where, id=doc.id, key=key, error=exc.message),
                        hint=_("fix the schema (draft 2020-12)"),
                    ) from exc
        select = spec.get("select", "")
        tokens = tuple(t.replace("~1", "/").replace("~0", "~") for t in select.split("/")[1:])
        when = spec.get("when", True)
        require = spec["require"]
        labels = doc.body.get("metadata", {}).get("labels", {})
        return cls(
            id=doc.id,
            title=spec["title"],
            severity=spec["severity"],
            applies_to=tuple(spec["applies_to"]),
            select=tokens,
            when=when,
            require=require,
            message=spec["message"],
            remediation=spec.get("remediation", ""),
            references=tuple(spec.get("references", ())),
            waivable=spec.get("waivable", True),
            family=spec.get("family") or labels.get("family", "") or _family(doc.id),
            title_zh=spec.get("title_zh") or labels.get("title_zh", ""),
            message_zh=spec.get("message_zh", ""),
            remediation_zh=spec.get("remediation_zh", ""),
            file=doc.file,
            line=doc.line,
            when_ok=compile_schema(when),
            require_ok=compile_schema(require),
            explain=compile_explainer(require),
        )

    def targets(self, resolved: Any) -> Iterator[tuple[str, Any]]:
        """(JSON Pointer, instance) pairs that ``select`` picks from the resolved document."""
        for parts, instance in _select(resolved, self.select):
            yield pointer(parts), instance

    def finding(self, doc: Document, base: tuple[Any, ...], instance: Any) -> Finding:
        failure = self.explain(instance)
        path, evidence = pointer(base), ""
        if failure is not None:
            path += pointer(failure.path)
            evidence = explain_failure(failure, path)
        return Finding(
            policy=self.id,
            title=pick(self.title, self.title_zh),
            severity=self.severity,
            target=doc.ref,
            message=pick(self.message, self.message_zh),
            file=doc.file,
            line=doc.line_of(path),
            path=path,
            remediation=pick(self.remediation, self.remediation_zh),
            references=self.references,
            evidence=evidence,
            family=self.family,
            hard=not self.waivable,
        )


def explain_failure(failure: Failure, path: str) -> str:
    """What was seen, in plain words, for the assessor (the finding's evidence), said by the
    keyword that failed (never jsonschema's English text), in the reader's language."""
    field = path.rsplit("/", 1)[-1] or _("document")
    seen = _short(failure.instance)
    keyword, expected = failure.keyword, failure.expected
    if keyword == "required":
        return _("'{name}' is missing").format(name=expected)
    if keyword in ("const", "enum"):
        allowed = expected if keyword == "enum" else [expected]
        return _("'{field}' is {seen}; expected {allowed}").format(
            field=field, seen=seen, allowed=_(" or ").join(map(repr, allowed)))
    if keyword == "not" and _is_exposing_rule(failure.instance):
        return _rule_exposure(failure.instance)
    if keyword == "not":
        return _("'{field}' is {seen}, which this policy forbids").format(field=field, seen=seen)
    if keyword in _BOUNDS:
        return _BOUNDS[keyword]().format(field=field, seen=seen, expected=expected)
    if keyword == "minItems":
        return _("'{field}' has {count} item(s); expected at least {expected}").format(
            field=field, count=len(failure.instance), expected=expected)
    if keyword == "contains":
        return _("no item of '{field}' qualifies").format(field=field)
    if keyword == "type":
        return _("'{field}' is {seen}; expected a {expected}").format(
            field=field, seen=seen, expected=expected)
    if keyword in ("anyOf", "oneOf"):
        return _("'{field}' ({seen}) meets none of the allowed alternatives").format(
            field=field, seen=seen)
    return _("'{field}' is {seen} ({keyword} {expected} not met)").format(
        field=field, seen=seen, keyword=keyword, expected=repr(expected))


# Whole sentences per keyword (not a word spliced in): the translation may reorder them.
_BOUNDS: dict[str, Callable[[], str]] = {
    "minimum": lambda: _("'{field}' is {seen}; expected at least {expected}"),
    "maximum": lambda: _("'{field}' is {seen}; expected at most {expected}"),
    "exclusiveMinimum": lambda: _("'{field}' is {seen}; expected more than {expected}"),
    "exclusiveMaximum": lambda: _("'{field}' is {seen}; expected less than {expected}"),
}


def _is_exposing_rule(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("exposed")) and "direction" in value


def _rule_exposure(rule: dict[str, Any]) -> str:
    """A resolved security-group rule's exposure in words (netnorm's union per port range)."""
    def ports(item: dict[str, Any]) -> str:
        if "port_min" not in item:
            return ""
        low, high = item["port_min"], item["port_max"]
        return f" {low}" if low == high else f" {low}-{high}"

    segments = _(", ").join(
        _("{protocol}{ports} to the {scope}").format(
            protocol=s["protocol"], ports=ports(s), scope=_scope_word(s["scope"]))
        for s in rule["exposed"])
    return _("{direction} {protocol}{ports} from {remote} exposes {segments} (with the group's "
             "other rules)").format(
        direction=_direction_word(rule["direction"]), protocol=rule.get("protocol", "any"),
        ports=ports(rule), remote=rule.get("remote"), segments=segments)


def _scope_word(scope: str) -> str:
    words = {"world": _("world"), "public": _("public")}
    return words.get(scope, scope)


def _direction_word(direction: str) -> str:
    words = {"ingress": _("ingress"), "egress": _("egress")}
    return words.get(direction, direction)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        if {"vendor", "product"} <= value.keys():  # a resolved component
            return f"{value['product']} ({value['vendor']}, {value.get('origin', '?')})"
        if "id" in value:
            return f"{value['id']!r}"
        text = ", ".join(f"{k}={v!r}" for k, v in list(value.items())[:4])
        return "{" + text + (", ...}" if len(value) > 4 else "}")
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _family(policy_id: str) -> str:
    parts = policy_id.split("-")
    return parts[1] if len(parts) >= 3 else ""


def _select(value: Any, tokens: tuple[str, ...], base: tuple[Any, ...] = ()
            ) -> list[tuple[tuple[Any, ...], Any]]:
    """(path parts, instance) pairs; the path becomes a JSON Pointer only for findings.
    Walked level by level (no recursion): it runs for every policy on every document."""
    items: list[tuple[tuple[Any, ...], Any]] = [(base, value)]
    for head in tokens:
        found: list[tuple[tuple[Any, ...], Any]] = []
        if head == "*":
            for parts, node in items:
                if isinstance(node, list):
                    found.extend(((*parts, i), item) for i, item in enumerate(node))
                elif isinstance(node, dict):
                    found.extend(((*parts, k), item) for k, item in node.items())
        else:
            for parts, node in items:
                if isinstance(node, dict):
                    if head in node:
                        found.append(((*parts, head), node[head]))
                elif isinstance(node, list) and head.isdigit() and int(head) < len(node):
                    found.append(((*parts, int(head)), node[int(head)]))
        if not found:
            return found
        items = found
    return items


@dataclass(frozen=True, slots=True)
class PolicySet:
    policies: tuple[Policy, ...]
    source: str
    notes: tuple[str, ...] = ()  # what loading decided that the user should hear

    @property
    def hard_ids(self) -> frozenset[str]:
        """Policies no waiver and no --fail-on can switch off."""
        return frozenset(p.id for p in self.policies if not p.waivable)

    def by_kind(self) -> dict[str, tuple[Policy, ...]]:
        index: dict[str, list[Policy]] = {}
        for policy in self.policies:
            for kind in policy.applies_to:
                index.setdefault(kind, []).append(policy)
        return {kind: tuple(items) for kind, items in index.items()}

    def get(self, policy_id: str) -> Policy | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    def only(self, ids: Iterable[str]) -> PolicySet:
        wanted = set(ids)
        return PolicySet(tuple(p for p in self.policies if p.id in wanted), self.source)


def default_policies_dir() -> Path:
    return Path(str(resources.files("govcloud") / "data" / "policies"))


def policy_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != FIXTURES_DIR and not d.startswith("."))
        out.extend(Path(dirpath) / n for n in sorted(filenames) if n.endswith((".yaml", ".yml")))
    return out


def load_policies(path: str | os.PathLike[str] | None = None) -> PolicySet:
    """The policies in force: those under ``path`` (default: the baseline shipped with govcloud)
    plus, always, the shipped hard rules (``waivable: false``).

    A folder replaces only the waivable baseline. A policy of the folder that has the id of a
    shipped hard rule is ignored (the shipped version is enforced) with a note, and a shipped
    hard rule the folder lacks is enforced anyway: an empty folder switches nothing off.
    """
    shipped_root = default_policies_dir()
    shipped = _read_policies(shipped_root)
    if path is None:
        return PolicySet(tuple(shipped), str(shipped_root))
    root = Path(path)
    if not root.exists():
        raise PolicyError(_("policies folder {path} does not exist").format(path=root),
                          hint=_("check --policies"))
    hard = {p.id: p for p in shipped if not p.waivable}
    out: list[Policy] = []
    notes: list[str] = []
    for policy in _read_policies(root):
        enforced = hard.pop(policy.id, None)
        if enforced is None:
            out.append(policy)
            continue
        out.append(enforced)
        if _rule(policy) != _rule(enforced):
            notes.append(_("{where}: {id} is a hard rule shipped with govcloud; the shipped "
                           "version is enforced and this one is ignored").format(
                               where=f"{policy.file}:{policy.line}", id=policy.id))
    if hard:
        out.extend(hard.values())
        notes.append(_("{count} hard rule(s) shipped with govcloud are enforced although "
                       "{path} does not hold them: {ids}").format(
                           count=len(hard), path=root, ids=", ".join(sorted(hard))))
    return PolicySet(tuple(out), str(root), tuple(notes))


def _rule(policy: Policy) -> tuple[Any, ...]:
    """What decides a policy's findings and their weight (not its wording)."""
    return (policy.severity, policy.applies_to, policy.select, policy.when, policy.require,
            policy.waivable)


def _read_policies(root: Path) -> list[Policy]:
    files = policy_files(root)
    loaded = load(inventory=files)  # trusted content, like the inventory
    problems = list(loaded.all_errors)
    problems.extend(
        DocError(d.file, d.line, "/kind",
                 _("{ref} is not a Policy; keep policies apart").format(ref=d.ref))
        for d in loaded.catalog.documents
        if d.kind != "Policy"
    )
    if problems:
        shown = "; ".join(str(p) for p in problems[:3])
        more = _(" (and {count} more)").format(count=len(problems) - 3) if len(problems) > 3 else ""
        raise PolicyError(
            _("invalid policy set {path}: {problems}{more}").format(path=root, problems=shown,
                                                                    more=more),
            hint=_("fix the policy files or point --policies elsewhere"),
        )
    return [Policy.from_document(d) for d in loaded.catalog.of_kind("Policy")]


def evaluate(catalog: Catalog, policies: PolicySet) -> list[Finding]:
    """Findings of every policy on every document it applies to (before waivers)."""
    index = policies.by_kind()
    findings: list[Finding] = []
    for doc in catalog.documents:
        applicable = index.get(doc.kind)
        if not applicable:
            continue
        resolved = resolve(doc, catalog)
        # Policies of a kind mostly share a few `select` paths: walk each once per document.
        selected: dict[tuple[str, ...], list[tuple[tuple[Any, ...], Any]]] = {}
        for policy in applicable:
            pairs = selected.get(policy.select)
            if pairs is None:
                pairs = selected[policy.select] = _select(resolved, policy.select)
            for base, instance in pairs:
                if policy.when_ok(instance) and not policy.require_ok(instance):
                    findings.append(policy.finding(doc, base, instance))
    return findings
