"""Semantic checks of authority data that JSON Schema cannot say, and of what refers to it.

Registered with ``validate.check`` (``validate`` imports this module): the function vocabulary
(a System's or request's ``function`` must be a declared Function or synonym), the department
tree (a parent is a higher level, so the tree has no cycle), the component catalog (a server model
names its CPU, and is domestic only if that CPU is), a System's platform.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from govcloud.documents import Catalog, Document
from govcloud.i18n import N_, _
from govcloud.model import DocError
from govcloud.schemas import LEVELS
from govcloud.validate import check
from govcloud.vocabulary import normalise, vocabulary_of

# Who keeps the catalogs, for the "what to do" part of an error.
# (Marked for the catalog, said in the reader's language where used.)
VOCABULARY_OWNER = N_("the function vocabulary (kind: Function, inventory/functions.yaml) kept "
                      "by the cloud's operators")
CATALOG_OWNER = N_("the component catalog (inventory/components.yaml) kept by the security "
                   "office")
INVENTORY_OWNER = N_("the inventory kept by the cloud's operators")


def _err(doc: Document, path: str, message: str) -> DocError:
    return DocError(doc.file, doc.line_of(path), path, f"{doc.ref}: {message}")


def _ref(doc: Document, catalog: Catalog, path: str, kind: str, value: Any,
         owner: str) -> Iterator[DocError]:
    """An id that must name an existing ``kind``; the error says who keeps that data."""
    if isinstance(value, str) and catalog.get(kind, value) is None:
        guess = difflib.get_close_matches(value, list(catalog.by_kind.get(kind, {})), n=1)
        hint = _("did you mean '{guess}'? ").format(guess=guess[0]) if guess else ""
        yield _err(doc, path, _("{kind} '{value}' does not exist; {hint}it must be in {owner}")
                   .format(kind=kind, value=value, hint=hint, owner=_(owner)))


def _function(doc: Document, catalog: Catalog, path: str, value: Any) -> Iterator[DocError]:
    if not isinstance(value, str):
        return
    vocabulary = vocabulary_of(catalog)
    if not vocabulary.declared or vocabulary.canonical(value) is not None:
        return
    known = ", ".join(vocabulary.known())
    guess = difflib.get_close_matches(normalise(value), list(vocabulary.spellings), n=1)
    hint = (_("did you mean '{guess}'? ").format(guess=vocabulary.spellings[guess[0]])
            if guess else "")
    yield _err(doc, path, _("function {value} is not in the function vocabulary; {hint}use one "
                            "of: {known}. A new function or another spelling of one is added "
                            "to {owner}, not written freely in a request").format(
                                value=repr(value), hint=hint, known=known,
                                owner=_(VOCABULARY_OWNER)))


@check("Function")
def _function_doc(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    vocabulary = vocabulary_of(catalog)
    synonyms = doc.spec.get("synonyms", [])
    for index, spelling in enumerate([doc.id, *synonyms]):
        owners = vocabulary.clashes.get(normalise(spelling), ())
        others = [o for o in owners if o != doc.id]
        if others:
            path = "/metadata/id" if index == 0 else f"/spec/synonyms/{index - 1}"
            yield _err(doc, path, _("{spelling} also names function(s) {others}; a spelling "
                                    "may mean one function only").format(
                                        spelling=repr(spelling), others=", ".join(others)))
    for index, system in enumerate(doc.spec.get("provided_by", [])):
        yield from _ref(doc, catalog, f"/spec/provided_by/{index}", "System", system,
                        INVENTORY_OWNER)


@check("System")
def _system(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    yield from _function(doc, catalog, "/spec/function", doc.spec.get("function"))
    if "platform" in doc.spec:
        yield from _ref(doc, catalog, "/spec/platform", "Platform", doc.spec["platform"],
                        INVENTORY_OWNER)


@check("ResourceRequest")
def _request(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    system = doc.spec.get("system")
    if isinstance(system, dict):
        yield from _function(doc, catalog, "/spec/system/function", system.get("function"))


@check("Department")
def _department(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    parent = catalog.get("Department", str(doc.spec.get("parent", "")))
    if parent is None or parent.id == doc.id:
        return  # a missing or self parent is reported by validate
    mine, theirs = doc.spec.get("level"), parent.spec.get("level")
    if mine in LEVELS and theirs in LEVELS and LEVELS.index(theirs) >= LEVELS.index(mine):
        yield _err(doc, "/spec/parent", _("parent '{parent}' is a {theirs} department; the "
                                          "supervising department of a {mine} department is "
                                          "at a higher level").format(
                                              parent=parent.id, theirs=theirs, mine=mine))


@check("Component")
def _component(doc: Document, catalog: Catalog) -> Iterator[DocError]:
    spec = doc.spec
    category, cpu_id = spec.get("category"), spec.get("cpu")
    if category != "server":
        if cpu_id is not None:
            yield _err(doc, "/spec/cpu", _("only server models carry a cpu; this is a "
                                           "{category}").format(category=category))
        return
    if cpu_id is None:
        yield _err(doc, "/spec", _("a server model records the CPU it carries: add `cpu: <id>` "
                                   "naming a cpu in {owner}").format(owner=_(CATALOG_OWNER)))
        return
    cpu = catalog.get("Component", cpu_id)
    if cpu is None:
        yield from _ref(doc, catalog, "/spec/cpu", "Component", cpu_id, CATALOG_OWNER)
    elif cpu.spec.get("category") != "cpu":
        yield _err(doc, "/spec/cpu", _("'{id}' is a {category}, not a cpu").format(
            id=cpu_id, category=cpu.spec.get("category")))
    elif spec.get("origin") == "domestic" and cpu.spec.get("origin") != "domestic":
        # The vendor does not make a server 信创: a domestic brand with an Intel or AMD CPU is
        # not a domestic server. The catalog must say so itself rather than have rules guess.
        yield _err(doc, "/spec/origin", _(
            "server model '{id}' ({vendor}) carries {cpu} ({cpu_vendor}, {origin}): a server is "
            "domestic only if its CPU is; set origin: foreign").format(
                id=doc.id, vendor=spec.get("vendor"), cpu=cpu.spec.get("product"),
                cpu_vendor=cpu.spec.get("vendor"), origin=cpu.spec.get("origin")))
