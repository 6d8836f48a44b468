#!/usr/bin/env bash
# Host tools for `govcloud audit`'s tests: Debian's chromium, which renders the HTML report
# headless (tests/unit/test_audit_html_chromium.py takes a screenshot). Idempotent; a no-op taking
# well under a second once chromium is installed. Runs as root (make system-deps).
set -euo pipefail

if dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" \
   && command -v chromium >/dev/null; then
  echo "audit-deps: chromium present ($(dpkg-query -W -f='${Version}' chromium))" >&2
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "audit-deps: chromium is missing; run as root: sudo bash $0" >&2
  exit 1
fi
echo "audit-deps: installing chromium (Debian package)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# fonts-noto-cjk: the report is bilingual; without a CJK font the Chinese labels render as boxes.
apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
echo "audit-deps: chromium $(dpkg-query -W -f='${Version}' chromium) installed" >&2
