#!/usr/bin/python
# Part of govcloud (Apache-2.0). Set many "key value" lines of one config file in one call.
"""Ansible module: like lineinfile looped over keys, but one module run per file and control.

A baseline edits dozens of keys (sshd_config, login.defs, pwquality.conf...). lineinfile in a
loop costs one round trip per key, which made an audit take ~45 s per host; this module does the
same edit (replace the active line, else un-comment the commented one, else insert) in one run,
with check mode and diff, so each control stays one task and an audit stays fast.
"""

from __future__ import annotations

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: govcloud_settings
short_description: Set several "key<sep>value" settings in one configuration file
options:
  path: {type: path, required: true}
  settings: {type: dict, description: key -> value}
  controls:
    type: dict
    description: >-
      control id -> {key: value}; the same edit as settings, but the result also says which
      controls needed a change (changed_controls), so one task can serve several controls
      of one file without losing per-control status
  separator: {type: str, default: " "}
  ignore_case: {type: bool, default: false, description: keys match case-insensitively (sshd)}
  insertbefore: {type: str, description: regex; new keys go before its first match, else at end}
  create: {type: bool, default: false}
  mode: {type: raw}
  validate: {type: str, description: command with %s run on the new content before it is written}
"""


def _apply(lines, settings, sep, flags, before):
    out = list(lines)
    changed_keys = []
    for key, value in settings.items():
        wanted = f"{key}{sep}{value}".rstrip()
        k = re.escape(key)
        active = re.compile(rf"^\s*{k}(\s|=|$)", flags)
        commented = re.compile(rf"^\s*#+\s*{k}(\s|=|$)", flags)
        idx = next((i for i, line in enumerate(out) if active.match(line)), None)
        if idx is None:
            idx = next((i for i, line in enumerate(out) if commented.match(line)), None)
        if idx is not None:
            if out[idx].rstrip("\n") != wanted:
                out[idx] = wanted + "\n"
                changed_keys.append(key)
            continue
        pos = len(out)
        if before:
            rx = re.compile(before)
            pos = next((i for i, line in enumerate(out) if rx.search(line)), len(out))
        if pos == len(out) and out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.insert(pos, wanted + "\n")
        changed_keys.append(key)
    return out, changed_keys


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "settings": {"type": "dict"},
            "controls": {"type": "dict"},
            "separator": {"type": "str", "default": " "},
            "ignore_case": {"type": "bool", "default": False},
            "insertbefore": {"type": "str"},
            "create": {"type": "bool", "default": False},
            "mode": {"type": "raw"},
            "validate": {"type": "str"},
        },
        supports_check_mode=True,
        required_one_of=[("settings", "controls")],
    )
    p = module.params
    path = p["path"]
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            before_text = fh.read()
    elif p["create"] or module.check_mode:
        before_text = ""
    else:
        module.fail_json(msg=f"{path} does not exist", rc=257)
    lines = before_text.splitlines(keepends=True)
    groups = dict(p["controls"] or {})
    if p["settings"]:
        groups[""] = p["settings"]
    settings = {}
    owner = {}
    for control, values in groups.items():
        for k, v in (values or {}).items():
            settings[str(k)] = "" if v is None else str(v)
            owner[str(k)] = control
    flags = re.IGNORECASE if p["ignore_case"] else 0
    new_lines, changed_keys = _apply(lines, settings, p["separator"], flags, p["insertbefore"])
    after_text = "".join(new_lines)
    changed = after_text != before_text
    result = {"changed": changed, "changed_keys": changed_keys, "path": path}
    if p["controls"]:
        by_control = {}
        for k in changed_keys:
            if owner[k]:
                by_control.setdefault(owner[k], []).append(k)
        result["changed_controls"] = by_control
    if module._diff:
        result["diff"] = {"before": before_text, "after": after_text,
                          "before_header": path, "after_header": path}
    if changed and not module.check_mode:
        directory = os.path.dirname(path) or "."
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".govcloud-")
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(after_text)
        if p["validate"]:
            rc, out, err = module.run_command(p["validate"] % tmp)
            if rc != 0:
                os.unlink(tmp)
                module.fail_json(msg=f"validation of {path} failed: {err or out}", rc=rc)
        module.atomic_move(tmp, path)
    if os.path.exists(path):
        result["changed"] = module.set_fs_attributes_if_different(
            module.load_file_common_arguments({"path": path, "mode": p["mode"]}),
            result["changed"],
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
