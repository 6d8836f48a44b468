"""A commented, valid ResourceRequest for a department and a platform of the inventory.

``new_request(catalog, form)`` is pure: it reads the inventory's catalog (departments,
platforms, machine rooms, systems, components) and returns YAML text whose comments are in the
reader's language. Every value it writes is one the checks accept (the platform's zone and
level, a function not yet run by the department, domestic components, the department's own
independent machine rooms in ``replaces``, encrypted volumes, no port open to the world but
HTTPS on the internet zone); what only the department knows (contact, filing number) is written
when given and otherwise left as commented lines to fill in, never invented.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from govcloud import API_VERSION
from govcloud.documents import Catalog, Document
from govcloud.errors import InputError
from govcloud.i18n import language_from_env
from govcloud.schemas import (
    FILING_NUMBER_PATTERN,
    NAME_PATTERN,
    PHONE_PATTERN,
)

LANGS = ("en", "zh")
WIDTH = 100
LEASE_DAYS = 365
# Used when the inventory holds no System to learn the function vocabulary from.
DEFAULT_FUNCTIONS = ("approval", "data-exchange", "office-automation", "portal", "registry")

# Every comment the template writes, in both languages (one table, so that the catalogs of
# issue 15 part 1 can take it over whole).
TEXTS: dict[str, dict[str, str]] = {
    "head": {
        "en": "govcloud resource request (政务云资源申请) for {dept} on {platform}.",
        "zh": "{dept}在{platform}的政务云资源申请（govcloud ResourceRequest）。",
    },
    "generated": {
        "en": "Written by `govcloud new request` on {today} from the inventory. Edit the values "
              "marked EDIT, then run:",
        "zh": "由 `govcloud new request` 于 {today} 根据资源目录（inventory）生成。请修改标有"
              "“EDIT”的值，然后运行：",
    },
    "id": {
        "en": "request number: EDIT to the number your cloud office gives",
        "zh": "申请编号：EDIT 改为政务云管理机构分配的编号",
    },
    "department": {"en": "requesting department: {name}", "zh": "申请单位：{name}"},
    "platform": {
        "en": "platform: {name}; zone {zone}, certified up to MLPS level {level}",
        "zh": "云平台：{name}；网络区域 {zone}，等保定级最高 {level} 级",
    },
    "tenant": {
        "en": "OpenStack project (tenant) to create; letters, digits, '.', '_', '-'",
        "zh": "将创建的云租户（OpenStack 项目）名称；字母、数字、'.'、'_'、'-'",
    },
    "purpose": {
        "en": "EDIT: what the system is for, in one sentence",
        "zh": "EDIT：用一句话说明系统用途（建设目的）",
    },
    "system": {"en": "the information system (信息系统)", "zh": "信息系统"},
    "system_name": {"en": "EDIT: the system's name", "zh": "EDIT：系统名称"},
    "function": {
        "en": "function, one of the inventory's: {choices}",
        "zh": "系统职能，取资源目录中的一种：{choices}",
    },
    "mlps": {
        "en": "MLPS level (等保定级) 1-{level}; level 3 and up needs two servers and encrypted "
              "volumes",
        "zh": "等保定级 1-{level} 级；三级及以上需至少两台服务器、数据卷加密",
    },
    "filing": {
        "en": "MLPS filing certificate number (等保备案证明编号), 11 digits '-' 5 digits; level 2 "
              "and up files within 30 days of going live: uncomment when filed",
        "zh": "等保备案证明编号，11位数字-5位数字；二级及以上系统投入运行后30日内备案，取得后"
              "取消注释并填写",
    },
    "filing_given": {
        "en": "MLPS filing certificate number (等保备案证明编号)",
        "zh": "等保备案证明编号",
    },
    "classification": {
        "en": "data classification: public, internal, sensitive; secret, confidential and "
              "top-secret (涉密) only on a gov-internal platform",
        "zh": "数据密级：public（公开）、internal（内部）、sensitive（敏感）；secret（秘密）、"
              "confidential（机密）、top-secret（绝密）为涉密，只能在政务内网平台",
    },
    "zone": {
        "en": "network zone: the platform's ({zone}); it must match",
        "zh": "网络区域：须与云平台一致（{zone}）",
    },
    "personal_data": {
        "en": "true if the system processes personal information (then MLPS level 2 or higher)",
        "zh": "处理个人信息时填 true（此时等保定级不得低于二级）",
    },
    "replaces": {
        "en": "the department's own machine rooms this move retires (上云后撤并); keep, or "
              "remove a room only with a waiver",
        "zh": "本次上云后撤并的本单位自建机房；保留，除非已获豁免",
    },
    "contact": {
        "en": "contact (联系人): who answers for this request",
        "zh": "联系人：对本申请负责的人员",
    },
    "contact_todo": {
        "en": "contact (联系人): uncomment and fill in: name, phone (mobile or landline with "
              "area code), email",
        "zh": "联系人：取消注释并填写姓名、电话（手机或带区号的座机）、邮箱",
    },
    "lease": {
        "en": "lease end (租用期限), YYYY-MM-DD",
        "zh": "租用期限（到期日），YYYY-MM-DD",
    },
    "quotas": {
        "en": "quotas: what the project may use at most",
        "zh": "资源配额：项目可用资源上限",
    },
    "networks": {
        "en": "one private network; the router connects it to the platform's zone",
        "zh": "一个私有网络；路由器接入平台所在网络区域",
    },
    "security_groups": {
        "en": "security group: opens only what is listed",
        "zh": "安全组：只开放所列端口",
    },
    "https_world": {
        "en": "HTTPS from the internet (a public service)",
        "zh": "互联网访问 HTTPS（面向公众服务）",
    },
    "https_internal": {
        "en": "HTTPS from the e-government network only",
        "zh": "仅允许电子政务网络访问 HTTPS",
    },
    "ssh": {
        "en": "SSH only from the platform's bastion (堡垒机) network; ask the operators for its "
              "CIDR; never 0.0.0.0/0",
        "zh": "SSH 仅允许平台堡垒机网段访问（网段向运维方索取），不得为 0.0.0.0/0",
    },
    "servers": {
        "en": "servers, with domestic (信创) components from the catalog",
        "zh": "服务器，使用目录中的国产（信创）组件",
    },
    "volumes": {
        "en": "data volume, encrypted",
        "zh": "数据卷（加密）",
    },
}


@dataclass(frozen=True, slots=True)
class RequestForm:
    """What the person asking gave (the CLI's options)."""

    department: str
    platform: str
    tenant: str | None = None
    lang: str = "en"
    function: str | None = None
    mlps_level: int | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    filing_number: str | None = None


def reader_language(option: str | None, environ: Mapping[str, str]) -> str:
    """``--lang`` if given, else Chinese when the locale is (gettext's order: LANGUAGE, LC_ALL,
    LC_MESSAGES, LANG; the first one set decides), else English: ``i18n.language_from_env``."""
    return option if option is not None else language_from_env(environ)


def text(key: str, lang: str, **values: Any) -> str:
    return TEXTS[key][lang].format(**values)


def _quote(value: str) -> str:
    """A YAML scalar for ``value`` (a JSON string is valid YAML; plain when that is safe)."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", value) and value not in (
        "true", "false", "null", "yes", "no", "on", "off", "y", "n"
    ) and not re.fullmatch(r"[0-9._-]+", value):
        return value
    return json.dumps(value, ensure_ascii=False)


def close_matches(value: str, docs: Iterable[Document], *fields: str) -> list[str]:
    """Ids of ``docs`` close to ``value``: by spelling of the id, or ``value`` inside the id or
    one of ``fields`` (so 民政 finds the civil-affairs departments)."""
    docs = list(docs)
    ids = [d.id for d in docs]
    found = difflib.get_close_matches(value, ids, n=5, cutoff=0.5)
    needle = value.casefold()
    for doc in docs:
        names = [doc.id, *(str(doc.spec.get(f, "")) for f in fields)]
        names += [str(v) for v in doc.body.get("metadata", {}).get("labels", {}).values()]
        if needle and any(needle in n.casefold() for n in names) and doc.id not in found:
            found.append(doc.id)
    return found[:8]


def _lookup(catalog: Catalog, kind: str, value: str, option: str, *fields: str) -> Document:
    doc = catalog.get(kind, value)
    if doc is not None:
        return doc
    docs = catalog.of_kind(kind)
    if not docs:
        raise InputError(f"the inventory holds no {kind}",
                         hint="point --inventory or $GOVCLOUD_INVENTORY at the inventory folder")
    near = close_matches(value, docs, *fields)
    hint = (f"close matches: {', '.join(near)}" if near
            else f"known ids: {', '.join(sorted(d.id for d in docs)[:12])}"
            + (" ..." if len(docs) > 12 else ""))
    raise InputError(f"{option} '{value}': no {kind} with that id in the inventory", hint=hint)


def functions(catalog: Catalog) -> list[str]:
    """The inventory's function vocabulary: its Function documents (but those built once for
    every level, 省级统建, which a department does not request again), else every function its
    Systems have, else a default."""
    declared = sorted(f.id for f in catalog.of_kind("Function")
                      if not f.spec.get("built_once_at"))
    if declared:
        return declared
    seen = sorted({str(s.spec["function"]) for s in catalog.of_kind("System")})
    return seen or list(DEFAULT_FUNCTIONS)


def _spelling(text: str) -> str:
    return re.sub(r"[\s_-]+", "-", unicodedata.normalize("NFKC", text).casefold()).strip("-")


def _meanings(catalog: Catalog) -> dict[str, str]:
    """Spelling -> Function id, through the Functions' synonyms (empty without Functions)."""
    out: dict[str, str] = {}
    for function in catalog.of_kind("Function"):
        for name in (function.id, *function.spec.get("synonyms", ())):
            out.setdefault(_spelling(str(name)), function.id)
    return out


def _function(catalog: Catalog, form: RequestForm, dept: Document) -> str:
    vocabulary = functions(catalog)
    if form.function is not None:
        if form.function not in vocabulary:
            near = difflib.get_close_matches(form.function, vocabulary, n=3, cutoff=0.5)
            raise InputError(f"--function '{form.function}' is not in the inventory's function "
                             "vocabulary", hint=f"use one of {', '.join(near or vocabulary)}")
        return form.function
    # A function the department already runs would be a duplicate (GC-CON-007), whatever its
    # spelling there. Portals are left out: 政府网站集约化 (one site per government).
    meanings = _meanings(catalog)
    taken = set()
    for system in catalog.of_kind("System"):
        if system.spec.get("department") == dept.id:
            spelling = _spelling(str(system.spec["function"]))
            taken.add(meanings.get(spelling, spelling))
    preferred = ["approval", "data-exchange", "registry", "supervision"]
    for name in [*preferred, *vocabulary]:
        if name in vocabulary and name not in taken and name != "portal":
            return name
    return vocabulary[0]


def _component(catalog: Catalog, category: str, prefer: str) -> str:
    domestic = [c.id for c in catalog.of_kind("Component")
                if c.spec.get("category") == category and c.spec.get("origin") == "domestic"]
    if not domestic:
        raise InputError(f"the inventory's component catalog has no domestic {category}",
                         hint="ask the catalog's maintainers to add one")
    return prefer if prefer in domestic else domestic[0]


def _check_form(form: RequestForm, platform_level: int) -> None:
    if form.lang not in LANGS:
        raise InputError(f"--lang '{form.lang}'", hint=f"use one of {', '.join(LANGS)}")
    if form.tenant is not None and not re.fullmatch(NAME_PATTERN.strip("^$"), form.tenant):
        raise InputError(f"--tenant '{form.tenant}' is not a valid project name",
                         hint="start with a letter or digit, then up to 62 letters, digits, "
                         "'.', '_' or '-'")
    if form.mlps_level is not None and not 1 <= form.mlps_level <= platform_level:
        raise InputError(f"--mlps-level {form.mlps_level}: the platform is certified up to "
                         f"level {platform_level}", hint=f"use 1-{platform_level}, or a "
                         "platform certified for a higher level")
    checks = ((form.contact_phone, PHONE_PATTERN, "--contact-phone",
               "a mobile (13812345678) or a landline with its area code (0391-12345678)"),
              (form.filing_number, FILING_NUMBER_PATTERN, "--filing-number",
               "11 digits, '-', 5 digits, as on the 备案证明, e.g. 39010099999-26001"),
              (form.contact_email, r"^[^@\s]+@[^@\s]+$", "--contact-email", "name@domain"))
    for value, pattern, option, form_hint in checks:
        if value is not None and not re.fullmatch(pattern.strip("^$"), value):
            raise InputError(f"{option} '{value}' is not valid", hint=f"write {form_hint}")
    if form.contact_name is not None and not form.contact_name.strip():
        raise InputError("--contact-name is empty", hint="give the contact's name")
    if (form.contact_phone or form.contact_email) and not form.contact_name:
        raise InputError("--contact-phone/--contact-email without --contact-name",
                         hint="give --contact-name too")
    if form.filing_number and form.mlps_level == 1:
        raise InputError("--filing-number with --mlps-level 1", hint="level-1 systems are not "
                         "filed (备案 is for level 2 and above)")


def new_request(catalog: Catalog, form: RequestForm, today: dt.date) -> str:
    """The YAML text of a commented, valid ResourceRequest (see the module's docstring)."""
    dept = _lookup(catalog, "Department", form.department, "--department", "name", "name_zh")
    platform = _lookup(catalog, "Platform", form.platform, "--platform")
    zone = str(platform.spec["zone"])
    platform_level = int(platform.spec["mlps_level"])
    _check_form(form, platform_level)
    lang = form.lang
    dept_name = str(dept.spec.get("name_zh") if lang == "zh" else dept.spec["name"])
    if lang == "en" and dept.spec.get("name_zh"):
        dept_name += f" ({dept.spec['name_zh']})"
    labels = platform.body.get("metadata", {}).get("labels", {})
    platform_name = str(labels.get("name_zh", platform.id)) if lang == "zh" else platform.id
    if lang == "en" and labels.get("name_zh"):
        platform_name += f" ({labels['name_zh']})"
    function = _function(catalog, form, dept)
    level = form.mlps_level or min(2, platform_level)
    tenant = form.tenant or f"{dept.id}-{function}"[:63]
    classification = "public" if zone == "internet" else "internal"
    rooms = [r.id for r in catalog.of_kind("MachineRoom")
             if r.spec.get("department") == dept.id and r.spec.get("kind") == "independent"
             and r.spec.get("status") != "retired"]
    cpu = _component(catalog, "cpu", "kunpeng-920")
    os_ = _component(catalog, "os", "kylin-v10")
    database = _component(catalog, "database", "dm8")
    servers = 2 if level >= 3 else 1
    lease = today + dt.timedelta(days=LEASE_DAYS)
    request_id = f"REQ-{today:%Y%m%d}-{dept.id}"[:63]
    purpose = (f"{dept.spec.get('name_zh', dept.spec['name'])}新建信息系统（{function}）"
               if lang == "zh" else f"New {function} system of {dept.spec['name']}")

    def c(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    out = [
        f"# {c('head', dept=dept_name, platform=platform_name)}",
        f"# {c('generated', today=today.isoformat())}",
        "#   govcloud validate FILE && govcloud check --scope requests FILE",
        "---",
        f"apiVersion: {API_VERSION}",
        "kind: ResourceRequest",
        "metadata:",
        f"  id: {request_id}  # {c('id')}",
        "spec:",
        f"  department: {dept.id}  # {c('department', name=dept_name)}",
        f"  platform: {platform.id}  # "
        + c("platform", name=platform_name, zone=zone, level=platform_level),
        f"  tenant: {_quote(tenant)}  # {c('tenant')}",
        f"  purpose: {_quote(purpose)}  # {c('purpose')}",
        f"  system:  # {c('system')}",
        f"    name: {_quote(function)}  # {c('system_name')}",
        f"    function: {_quote(function)}  # "
        + c("function", choices=", ".join(functions(catalog))),
        f"    mlps_level: {level}  # {c('mlps', level=platform_level)}",
    ]
    if form.filing_number:
        out.append(f"    filing_number: {_quote(form.filing_number)}  # {c('filing_given')}")
    elif level >= 2:
        example = f"{dept.spec['region']}99999-{today:%y}001"
        out.append(f"    # filing_number: {_quote(example)}  # {c('filing')}")
    out += [
        f"    classification: {classification}  # {c('classification')}",
        f"    network_zone: {zone}  # {c('zone', zone=zone)}",
        f"    personal_data: false  # {c('personal_data')}",
    ]
    if rooms:
        out.append(f"  replaces: [{', '.join(rooms)}]  # {c('replaces')}")
    if form.contact_name:
        out.append(f"  contact:  # {c('contact')}")
        out.append(f"    name: {_quote(form.contact_name.strip())}")
        if form.contact_phone:
            out.append(f"    phone: {_quote(form.contact_phone)}")
        if form.contact_email:
            out.append(f"    email: {_quote(form.contact_email)}")
    else:
        out += [f"  # contact:  # {c('contact_todo')}",
                "  #   name: EDIT",
                '  #   phone: "EDIT"',
                "  #   email: EDIT"]
    out += [
        f"  lease_until: {_quote(lease.isoformat())}  # {c('lease')}",
        f"  quotas:  # {c('quotas')}",
        f"    {{cores: {4 * servers}, ram_mb: {8192 * servers}, instances: {servers + 1}, "
        f"volumes: {servers}, gigabytes: {50 * servers}}}",
        f"  networks:  # {c('networks')}",
        "  - {name: app-net, cidr: 192.168.10.0/24, router: true}",
        f"  security_groups:  # {c('security_groups')}",
        "  - name: app",
        "    rules:",
        "    - {direction: ingress, protocol: tcp, port: 443, "
        + ("remote: 0.0.0.0/0}  # " + c("https_world") if zone == "internet"
           else "remote: 10.0.0.0/8}  # " + c("https_internal")),
        f"    # - {{direction: ingress, protocol: tcp, port: 22, remote: BASTION-CIDR}}  "
        f"# {c('ssh')}",
        f"  servers:  # {c('servers')}",
        "  - name: app",
        f"    count: {servers}",
        "    flavor: c2m4",
        "    image: kylin-v10-sp3",
        "    network: app-net",
        "    security_groups: [app]",
        f"    components: {{cpu: {cpu}, os: {os_}, database: {database}}}",
        f"  volumes:  # {c('volumes')}",
        "  - {name: data, size_gb: 50, attach_to: app-1, encrypted: true}",
    ]
    return "\n".join(line for item in out for line in _layout(item)) + "\n"


def _width(value: str) -> int:
    """Display columns: a CJK character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def _layout(item: str) -> list[str]:
    """A line whose trailing comment makes it wider than ``WIDTH``: the comment goes on lines
    of its own above it (wrapped), so the file reads on a terminal."""
    if _width(item) <= WIDTH:
        return [item]
    code, sep, comment = item.rpartition("  # ")
    if not sep or not code.strip():  # a comment line of its own
        code, comment = "", item.lstrip(" ")[2:]
    indent = " " * (len(item) - len(item.lstrip(" ")))
    lines, current = [], ""
    for word in re.split(r"(?<=[ ，；。：、）])", comment):
        if current and _width(indent + "# " + current + word) > WIDTH:
            lines.append(f"{indent}# {current.rstrip()}")
            current = ""
        current += word
    if current:
        lines.append(f"{indent}# {current.rstrip()}")
    return [*lines, code] if code else lines
