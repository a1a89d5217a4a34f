"""The version matrix: `make test-matrix`.

Runs the test suite (not the type checkers) in fresh virtual environments
under .matrix/<name>, one per supported Python:

- lowest: Python 3.10 with the lowest dependency versions pyproject.toml declares,
  the `cli` extra's click and rich included (tests/constraints-lowest.txt);
- py311, py312: Python 3.11 and 3.12 with the newest versions;
- newest: Python 3.13 with the newest versions the declared ranges allow;
- httpx029: Python 3.11 with httpx 0.29 (the newest minor the SDK allows);
- httpx2: the newest leg with httpx2 installed and `httpx2.alias_httpx()` run at
  interpreter start (a .pth file), so `import httpx` is httpx2 and `import httpcore`
  httpcore2: how an application that moved to httpx2 runs the SDK (README "httpx2").

Installs from the package index, so it takes minutes: it is not part of `make test`.
The interpreters are found as `$PY310` ... `$PY313` (default python3.10 ... python3.13
on PATH), else through `pyenv prefix`. `python -m tests.matrix lowest` runs one leg.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / ".matrix"


@dataclass(frozen=True)
class Leg:
    name: str
    python: str  # "3.10"
    env_var: str
    constraints: Path | None
    alias_httpx2: bool = False
    httpx: str | None = None  # a pinned httpx version, e.g. "0.29.0"


LEGS = (
    Leg("lowest", "3.10", "PY310", ROOT / "tests" / "constraints-lowest.txt"),
    Leg("py311", "3.11", "PY311", None),
    Leg("py312", "3.12", "PY312", None),
    Leg("newest", "3.13", "PY313", None),
    Leg("httpx2", "3.13", "PY313", None, alias_httpx2=True),
    Leg("httpx029", "3.11", "PY311", None, httpx="0.29.0"),
)

# Run by the interpreter at start (a .pth line starting with "import" is executed).
_ALIAS_PTH = "import httpx2; httpx2.alias_httpx()\n"


def _works(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "import venv"], capture_output=True).returncode == 0
    except OSError:
        return False


def find_python(leg: Leg) -> str:
    """The interpreter for a leg: $PY3xx, python3.xx on PATH, or pyenv's."""
    candidates = [os.environ.get(leg.env_var, ""), f"python{leg.python}"]
    pyenv = shutil.which("pyenv")
    if pyenv:
        prefix = subprocess.run(
            [pyenv, "prefix", leg.python], capture_output=True, text=True
        ).stdout.strip()
        if prefix:
            candidates.append(str(Path(prefix) / "bin" / "python"))
    for candidate in candidates:
        path = shutil.which(candidate) if candidate else None
        if path and _works(path):  # a pyenv shim exists but may not run
            return path
    raise SystemExit(
        f"no Python {leg.python}: set {leg.env_var}=/path/to/python{leg.python} "
        f"(or `pyenv install {leg.python}`)"
    )


def run(command: list[str], **kwargs: object) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def run_leg(leg: Leg) -> tuple[bool, float, str]:
    started = time.monotonic()
    python = find_python(leg)
    venv = MATRIX / leg.name
    if venv.exists():
        shutil.rmtree(venv)
    run([python, "-m", "venv", str(venv)])
    bin_python = str(venv / "bin" / "python")
    pip = [bin_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "--upgrade", "pip"])
    # The fuzzer's extra needs newer anyio than the lowest leg tests: only on the newest.
    install = [*pip, "-e", ".[dev]" if leg.constraints is not None else ".[dev,fuzz]"]
    if leg.constraints is not None:
        install += ["--constraint", str(leg.constraints)]
    run(install)
    pytest_options: list[str] = []
    if leg.httpx is not None:
        run([*pip, f"httpx=={leg.httpx}"])
    if leg.alias_httpx2:
        run([*pip, "httpx2"])
        site = subprocess.run(
            [bin_python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        Path(site, "dtmf_httpx2_alias.pth").write_text(_ALIAS_PTH)
        # httpx2 imports anyio before pytest can rewrite its plugin's asserts.
        pytest_options = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    versions = subprocess.run(
        [bin_python, "-c", _VERSIONS], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"[{leg.name}] {versions}", flush=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DTMF_TOKEN", None)
    env.pop("DTMF_BASE_URL", None)
    env.pop("DTMF_LOG", None)
    result = subprocess.run(
        [str(venv / "bin" / "pytest"), "-q", "-x", *pytest_options], cwd=ROOT, env=env
    )
    return result.returncode == 0, time.monotonic() - started, versions


_VERSIONS = (
    "import sys, httpx, pydantic, anyio, dateutil, uvicorn, importlib.metadata as m; "
    "print('python', sys.version.split()[0], 'pydantic', pydantic.VERSION, "
    "httpx.__name__, httpx.__version__, 'httpcore2', m.version('httpcore2'), "
    "'anyio', m.version('anyio'), "
    "'python-dateutil', m.version('python-dateutil'), 'anyascii', m.version('anyascii'), "
    "'typing-extensions', m.version('typing-extensions'), 'uvicorn', uvicorn.__version__, "
    "'click', m.version('click'), 'rich', m.version('rich'))"
)


def main(argv: list[str]) -> int:
    legs = [leg for leg in LEGS if not argv or leg.name in argv]
    results = [(leg, *run_leg(leg)) for leg in legs]
    print()
    for leg, ok, seconds, versions in results:
        print(f"{leg.name:7} {'PASS' if ok else 'FAIL'} in {seconds:5.0f} s  {versions}")
    return 0 if all(ok for _, ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
