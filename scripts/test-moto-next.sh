#!/usr/bin/env bash
# The unit tests against moto's next minor version (the kit pins one minor series, since the local
# cloud patches moto's internals): a venv of its own, .venv-moto-next, with this checkout and the newest
# moto of the next minor series, pre-releases included. No such moto yet: the newest one after the pinned
# series' installed version. CI does not run this; run it before raising the pin in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=.venv-moto-next
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
pinned=$("$VENV/bin/python" -c "import moto; print(moto.__version__)")
next=$("$VENV/bin/python" -c "import sys; major, minor = sys.argv[1].split('.')[:2]; print(f'{major}.{int(minor) + 1}')" "$pinned")
if "$VENV/bin/python" -m pip install --quiet --pre "moto[server]>=${next}.0.dev0,<${next%.*}.$(( ${next#*.} + 1 ))" 2>/dev/null; then
    echo "moto $next series: $("$VENV/bin/python" -c 'import moto; print(moto.__version__)')"
else
    echo "moto $next is not published yet; testing the newest moto after $pinned instead"
    "$VENV/bin/python" -m pip install --quiet --pre --upgrade "moto[server]>$pinned"
fi
installed=$("$VENV/bin/python" -c "import moto; print(moto.__version__)")
echo "pinned: $pinned, testing: $installed"
# The contract test names the first moto internal that moved; the rest shows what it breaks.
"$VENV/bin/python" -m pytest -q tests/localcloud/test_moto_contract.py
"$VENV/bin/python" -m pytest -q tests
