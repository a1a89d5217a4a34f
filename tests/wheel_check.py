"""The built distributions as a user meets them: `python -m tests.wheel_check dist` (`make dist`).

- The sdist holds the whole project (every file git tracks, when run in a git
  checkout), so that it builds its docs and passes its own tests once unpacked.
- The wheel carries the LICENSE, and a plain `pip install` of it, with no extras,
  into a fresh virtual environment gives the in-process reference server, while
  everything that needs an extra (serving on a port, the `dtmf` command,
  `python -m dtmf`, `python -m dtmf.testing`) says which one to install.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEEDED_IN_SDIST = (
    "LICENSE",
    "CHANGELOG.md",
    "README.md",
    "README.pypi.md",
    "Makefile",
    "mkdocs.yml",
    "pyproject.toml",
    "docs/index.md",
    "examples/quickstart.py",
    "bench/__main__.py",
    "tests/conftest.py",
    "cassettes/client_tour.yaml",
)

IN_PROCESS = """
from dtmf.testing import Emulator
with Emulator(seed=1) as emu:
    emu.add_account("t", balance=10**6)
    with emu.client("t") as client:
        number = client.numbers.rent("gb-mobile")
        emu.simulate_inbound_sms(to=number.e164, sender="+447700900123", content="hi")
        print(client.numbers.get(number.e164).inbound_messages[-1].content)
"""

SERVE = """
import dtmf
from dtmf.testing import Emulator
try:
    with Emulator().serve():
        pass
except dtmf.ConfigurationError as exc:
    print(exc)
"""

TESTING_EXTRA = "pip install 'dtmf-io[testing]'"
CLI_EXTRA = "pip install 'dtmf-io[cli]'"


def check_sdist(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {name.removeprefix(top + "/") for name in archive.getnames()}
    wanted = set(NEEDED_IN_SDIST)
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if tracked.returncode == 0 and tracked.stdout:  # in a git checkout (not an unpacked sdist)
        wanted |= set(tracked.stdout.splitlines())
    return [f"the sdist lacks {name}" for name in sorted(wanted - names)]


def check_wheel(wheel: Path) -> list[str]:
    problems: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        if not any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist()):
            problems.append("the wheel lacks its LICENSE")
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python, dtmf_command = str(venv / "bin" / "python"), str(venv / "bin" / "dtmf")
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
            check=True,
        )

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                args, capture_output=True, text=True, timeout=120, check=False, cwd=tmp
            )

        checks: list[tuple[str, subprocess.CompletedProcess[str], int, str]] = [
            ("the in-process reference server", run(python, "-c", IN_PROCESS), 0, "hi"),
            ("Emulator.serve()", run(python, "-c", SERVE), 0, TESTING_EXTRA),
            ("the dtmf command", run(dtmf_command, "account"), 1, CLI_EXTRA),
            ("python -m dtmf", run(python, "-m", "dtmf", "account"), 1, CLI_EXTRA),
            ("python -m dtmf.testing", run(python, "-m", "dtmf.testing"), 1, TESTING_EXTRA),
        ]
        for what, result, code, expected in checks:
            said = result.stdout + result.stderr
            if result.returncode != code or expected not in said:
                problems.append(
                    f"without extras, {what} exited {result.returncode} (not {code}) "
                    f"without saying {expected!r}:\n{said}"
                )
    return problems


def main(argv: list[str]) -> int:
    dist = Path(argv[0] if argv else "dist")
    [sdist] = dist.glob("*.tar.gz")
    [wheel] = dist.glob("*.whl")
    problems = check_sdist(sdist) + check_wheel(wheel)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{sdist.name} holds the project; {wheel.name} works without extras")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
