#!/usr/bin/python
# Part of govcloud (Apache-2.0). Write several small managed files in one module run.
"""Ansible module: like copy/template with ``content`` for a list of files, in one round trip.

copy and template cost two to three SSH round trips per file (~0.7 s here); a baseline writes a
dozen small files, so one module run per control keeps an audit within seconds. Supports check
mode and diff; a file is only rewritten when content, owner, group or mode differ.
"""

from __future__ import annotations

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: govcloud_files
short_description: Ensure several files have the given content, owner, group and mode
options:
  files:
    type: list
    elements: dict
    required: true
    description: each has path, content, and optional owner, group, mode, validate (cmd with %s)
"""


def main():
    module = AnsibleModule(
        argument_spec={"files": {"type": "list", "elements": "dict", "required": True}},
        supports_check_mode=True,
    )
    changed_files = []
    diffs = []
    for spec in module.params["files"]:
        path = spec["path"]
        content = spec.get("content") or ""
        before = None
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                before = fh.read()
        content_changed = before != content
        if content_changed:
            diffs.append({"before_header": path, "after_header": path,
                          "before": before or "", "after": content})
        if content_changed and not module.check_mode:
            directory = os.path.dirname(path)
            if not os.path.isdir(directory):
                module.fail_json(msg=f"folder {directory} does not exist for {path}")
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".govcloud-")
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(content)
            if spec.get("validate"):
                rc, out, err = module.run_command(spec["validate"] % tmp)
                if rc != 0:
                    os.unlink(tmp)
                    module.fail_json(msg=f"validation of {path} failed: {err or out}", rc=rc)
            module.atomic_move(tmp, path)
        attrs_changed = False
        if os.path.exists(path) or module.check_mode:
            args = module.load_file_common_arguments({
                "path": path, "mode": spec.get("mode"), "owner": spec.get("owner"),
                "group": spec.get("group"),
            })
            if os.path.exists(path):
                attrs_changed = module.set_fs_attributes_if_different(args, False)
        if content_changed or attrs_changed:
            changed_files.append(path)
    result = {"changed": bool(changed_files), "changed_files": changed_files}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
