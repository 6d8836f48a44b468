"""Control families of MLPS 2.0 (GB/T 22239-2019), for the audit's "by control family" summary.

A finding's family is the layer of the first GB/T 22239-2019 clause it references: ``8.1.4.4``
is level 3, general requirements (8.1), layer 4, 安全计算环境; ``8.2.2.1`` is the cloud extension
(8.2), layer 2, 安全通信网络. General requirements have ten layers, the cloud extension seven
(it has no policy, organisation or personnel layers, so its 6 and 7 are construction and O&M).
Consolidation findings have their own row, and so do classified-protection (分级保护) findings,
which cite BMB17/BMB20 rather than GB/T 22239 (its scope excludes 涉密 systems); others that cite
no GB/T 22239 clause fall in "other".
"""

from __future__ import annotations

import re

_GENERAL = {
    1: ("physical", "Physical environment / 安全物理环境"),
    2: ("network", "Communication network / 安全通信网络"),
    3: ("boundary", "Area boundary / 安全区域边界"),
    4: ("computing", "Computing environment / 安全计算环境"),
    5: ("management-centre", "Security management centre / 安全管理中心"),
    6: ("policies", "Management policies / 安全管理制度"),
    7: ("organisation", "Management organisation / 安全管理机构"),
    8: ("personnel", "Management personnel / 安全管理人员"),
    9: ("construction", "Construction management / 安全建设管理"),
    10: ("operations", "Operation and maintenance / 安全运维管理"),
}
_CLOUD = {**{k: _GENERAL[k] for k in range(1, 6)}, 6: _GENERAL[9], 7: _GENERAL[10]}
CONSOLIDATION = ("consolidation", "Consolidation / 集约化")
CLASSIFIED = ("classified", "Classified protection / 分级保护")
OTHER = ("other", "Other / 其他")
ORDER = [key for key, _ in _GENERAL.values()] + [CONSOLIDATION[0], CLASSIFIED[0], OTHER[0]]
TITLES = {key: title for key, title in [*_GENERAL.values(), CONSOLIDATION, CLASSIFIED, OTHER]}
_CLAUSE = re.compile(r"GB/T\s*22239-2019\s+(\d+)\.(\d+)\.(\d+)")


def control_family(references: tuple[str, ...] | list[str], policy: str = "") -> str:
    """The family key of the first GB/T 22239-2019 clause in ``references``; consolidation
    rules (GC-CON-*) cite policy documents, not the standard; anything else is "other"."""
    for ref in references:
        match = _CLAUSE.search(ref)
        if not match:
            continue
        part, layer = int(match.group(2)), int(match.group(3))
        table = _CLOUD if part == 2 else _GENERAL
        if layer in table:
            return table[layer][0]
    if policy.startswith("GC-CON-"):
        return CONSOLIDATION[0]
    if any(re.search(r"\bBMB\s*(17|20)\b", ref) for ref in references):
        return CLASSIFIED[0]
    return OTHER[0]
