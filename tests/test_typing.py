"""Type checkers catch mistakes in user code written against the SDK.

`make test` type-checks the correct usage in tests/typing/; these tests check the
other half: that typos and misuse are errors for mypy and for pyright.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

MISTAKES = {
    "typo_in_method": "client.numbers.gte('+1234567890')",
    "str_method_on_int": "client.account.get().balance.upper()",
    "sync_action_awaited_wrongly": "async def f(c: dtmf.AsyncClient) -> None:\n"
    "    n = await c.numbers.get('+1234567890')\n"
    "    n.end_rental().bit_length()",
    "missing_await": "async def g(c: dtmf.AsyncClient) -> None:\n"
    "    print((c.numbers.get('+1234567890')).e164)",
    "wrong_argument_type": "client.numbers.get(1234567890)",
    "old_dict_typo": "dtmf.DTMF('t').account()['balanse']",
    "sync_model_bound_to_async_client": "async def h(c: dtmf.AsyncClient) -> None:\n"
    "    dtmf.Number(e164='+1234567890').bind(c)",
    "sync_action_on_async_model": "async def k(c: dtmf.AsyncClient) -> None:\n"
    "    dtmf.Number.end_rental(await c.numbers.get('+1234567890'))",
    "plain_str_for_group_type": "def m(kind: str) -> None:\n    client.groups.list(kind)",
    "webhook_handler_returning_int": "from dtmf import webhooks\n"
    "webhooks.asgi_app(lambda sms: len(sms.content))",
}


def _source(body: str) -> str:
    return (
        "import dtmf\n\n"
        "client = dtmf.Client('token')\n"
        "async def _unused() -> None: ...\n" + body + "\n"
    )


@pytest.fixture(scope="module")
def mistake_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mistakes")
    files = {}
    for name, body in MISTAKES.items():
        path = folder / f"{name}.py"
        path.write_text(_source(body))
        files[name] = path
    return files


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


@pytest.fixture(scope="module")
def mypy_errors(mistake_files: dict[str, Path]) -> str:
    # One mypy run for every file (a run costs seconds); each test reads its own lines.
    result = _run(
        [
            str(BIN / "mypy"),
            "--strict",
            "--no-incremental",
            "--config-file=",
            *map(str, mistake_files.values()),
        ]
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_mypy_flags(mypy_errors: str, name: str) -> None:
    flagged = [line for line in mypy_errors.splitlines() if f"{name}.py:" in line]
    assert any(": error:" in line for line in flagged), mypy_errors


def test_pyright_flags_every_mistake(mistake_files: dict[str, Path]) -> None:
    result = _run([str(BIN / "pyright"), "--outputjson", *map(str, mistake_files.values())])
    flagged = {
        Path(line.split('"file": "')[1].split('"')[0]).stem
        for line in result.stdout.splitlines()
        if '"file": "' in line
    }
    assert flagged == set(MISTAKES), result.stdout[-3000:]
