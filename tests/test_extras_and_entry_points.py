"""Without an extra installed, what needs it says what to install; `python -m dtmf` runs.

Each case runs in a fresh interpreter in which the extra's packages cannot be
imported (`sys.modules[name] = None` makes `import name` fail as if absent).
`make dist` checks the same against a real wheel installed without extras.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.wheel_check import IN_PROCESS

PRELUDE = "import sys\nfor name in {blocked!r}: sys.modules[name] = None\n"


def run_without(blocked: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    script = PRELUDE.format(blocked=blocked) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


def test_in_process_reference_server_needs_no_extra() -> None:
    result = run_without(("uvicorn", "click", "rich"), IN_PROCESS)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"


@pytest.mark.parametrize(
    "code",
    [
        "from dtmf.testing import Emulator\nwith Emulator().serve(): pass",
        "from dtmf.testing import serve_asgi\nfrom dtmf import webhooks\n"
        "with serve_asgi(webhooks.asgi_app(lambda sms: None)): pass",
    ],
    ids=["Emulator.serve", "serve_asgi"],
)
def test_serving_on_a_port_names_the_testing_extra(code: str) -> None:
    result = run_without(
        ("uvicorn",),
        f"""
import dtmf
try:
{textwrap.indent(code, "    ")}
except dtmf.ConfigurationError as exc:
    assert isinstance(exc, ModuleNotFoundError) and exc.name == "uvicorn"
    print(exc)
""",
    )
    assert result.returncode == 0, result.stderr
    assert "needs uvicorn, which is not installed: pip install 'dtmf-io[testing]'" in (
        result.stdout
    )


@pytest.mark.parametrize(
    ("module", "blocked", "expected"),
    [
        ("dtmf", ("click",), "dtmf: the command line needs click: pip install 'dtmf-io[cli]'"),
        ("dtmf.cli", ("rich",), "dtmf: the command line needs rich: pip install 'dtmf-io[cli]'"),
        (
            "dtmf.testing",
            ("uvicorn",),
            "python -m dtmf.testing needs uvicorn: pip install 'dtmf-io[testing]'",
        ),
    ],
)
def test_commands_name_their_extra(module: str, blocked: tuple[str, ...], expected: str) -> None:
    result = run_without(
        blocked, f"import runpy; runpy.run_module({module!r}, run_name='__main__')"
    )
    assert result.returncode == 1
    assert result.stderr.strip() == expected


def test_python_m_dtmf_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dtmf", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "rent" in result.stdout
    assert "emulator" in result.stdout
