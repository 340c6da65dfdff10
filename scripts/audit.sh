#!/usr/bin/env bash
# pip-audit over requirements.lock (every locked version), against PyPI's vulnerability data.
# Fails when a locked package has a known vulnerability. Where the data cannot be reached (a sandbox that mirrors
# only the package index), it says so and exits 0: the check is skipped there, not passed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# pip-audit asks https://pypi.org/pypi/<name>/<version>/json for each pin; probe that with one locked package
PROBE=$(grep -m1 -E '^requests==' requirements.lock | sed 's/==/\//')
if ! "$PY" - "$PROBE" <<'PYEOF'
import sys, urllib.request
url = f"https://pypi.org/pypi/{sys.argv[1]}/json"
try:
    with urllib.request.urlopen(url, timeout=10) as r:
        sys.exit(0 if r.status == 200 and b'"vulnerabilities"' in r.read() else 1)
except Exception as exc:
    print(f"pip-audit probe {url}: {exc.__class__.__name__}: {exc}", file=sys.stderr)
    sys.exit(1)
PYEOF
then
  echo "pip-audit: SKIPPED - PyPI's per-release vulnerability data cannot be reached from this machine;"
  echo "run 'make audit' where https://pypi.org/pypi/<name>/<version>/json answers. requirements.lock was NOT audited."
  exit 0
fi
exec "$PY" -m pip_audit --requirement requirements.lock --no-deps --disable-pip --progress-spinner off \
  --vulnerability-service pypi
