"""Bootstrap and run: the README's two commands.

    python3 scripts/dev.py demo   # install into .venv if needed, run the demo, print map paths
    python3 scripts/dev.py test   # install into .venv if needed, run lint, types and tests

Needs only Python >= 3.11 and access to PyPI. Re-installs when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("SITING_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if code:
        sys.exit(code)


def ensure_installed() -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / ".siting-installed"
    if stamp.is_file() and stamp.read_text() == digest and PY.exists():
        return
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    stamp.write_text(digest)


def main() -> None:
    task = sys.argv[1] if len(sys.argv) > 1 else ""
    if task not in {"demo", "test"}:
        sys.exit("usage: python3 scripts/dev.py demo|test [extra args]")
    ensure_installed()
    extra = sys.argv[2:]
    if task == "demo":
        run(BIN / "siting", "demo", "--out", "out/demo", *extra)
    else:
        run(BIN / "ruff", "check", "siting", "tests", "scripts", "benchmarks")
        run(BIN / "ruff", "format", "--check", "siting", "tests", "scripts", "benchmarks")
        run(BIN / "mypy", "siting")
        run(PY, "-m", "pytest", *extra)


if __name__ == "__main__":
    main()
