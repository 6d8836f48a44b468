#!/usr/bin/env bash
# Host tools for `govcloud audit`'s tests: Debian's chromium, which renders the HTML report
# headless (tests/unit/test_audit_html_chromium.py takes a screenshot). Idempotent; a no-op taking
# well under a second once chromium is installed. Runs as root (make system-deps).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [[ -z "$(missing_packages chromium)" ]] && command -v chromium >/dev/null; then
  echo "audit-deps: chromium present ($(dpkg-query -W -f='${Version}' chromium))" >&2
  exit 0
fi
need_root "audit-deps: chromium is missing;"
echo "audit-deps: installing chromium (Debian package)" >&2
# fonts-noto-cjk: the report is bilingual; without a CJK font the Chinese labels render as boxes.
apt_install chromium fonts-noto-cjk
echo "audit-deps: chromium $(dpkg-query -W -f='${Version}' chromium) installed" >&2
