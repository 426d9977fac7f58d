#!/usr/bin/env bash
# Create benchmarks/.venv: the project (editable) plus the baselines pinned in
# benchmarks/requirements.txt. The project's own .venv is never touched.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x "$here/.venv/bin/python" ]; then
  "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --upgrade pip
"$here/.venv/bin/python" -m pip install --quiet -e "$here/.."
"$here/.venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$here/.venv/bin/python" - <<'PY'
from importlib.metadata import version
for name in ("hubspot-batch", "httpx", "hubspot-api-client", "hubspot-sdk", "py-spy", "pyinstrument"):
    print(f"{name}=={version(name)}")
PY
echo "benchmarks/.venv ready: run $here/.venv/bin/python $here/run.py"
