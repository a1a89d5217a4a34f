"""The inbound-SMS examples run as a user runs them: as scripts, without DTMF_TOKEN."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faultscenarios import default_sigint

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DTMF_")}
    return {**env, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", **extra}


def run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=_env(**env),
        timeout=60,
        check=False,
    )


def rented(stdout: str) -> str:
    [line] = [line for line in stdout.splitlines() if line.startswith("Rented +")]
    return line.split()[1].rstrip(".")


def test_verification_code_prints_the_code_and_ends_the_rental() -> None:
    result = run("verification_code.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "DTMF_TOKEN is not set" in lines[0]
    e164 = rented(result.stdout)
    assert "Code: 482913" in lines
    assert "SMS from +447700900123: 'Your Example verification code is 482913." in result.stdout
    assert lines[-1] == f"Ended the rental of {e164}."
    assert result.stderr == ""


def test_verification_code_without_a_code_ends_the_rental() -> None:
    result = run("verification_code.py", "--timeout", "0.5", "--demo-delay", "30")
    assert result.returncode == 1
    assert "No code arrived: no new inbound SMS to" in result.stdout
    assert result.stdout.splitlines()[-1] == f"Ended the rental of {rented(result.stdout)}."


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_verification_code_ctrl_c_ends_the_rental() -> None:
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "verification_code.py"), "--demo-delay", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=_env(),
        # Under a runner started in the background, SIGINT comes ignored and a child
        # inherits that: give it a terminal's Ctrl-C, or this fails whenever so run.
        preexec_fn=default_sigint,
    )
    try:
        assert process.stdout is not None
        seen: list[str] = []
        for line in process.stdout:
            seen.append(line)
            if line.startswith("Waiting up to"):
                break
        process.send_signal(signal.SIGINT)
        rest, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    stdout = "".join(seen) + rest
    assert process.returncode == 130, stderr
    assert "Interrupted: no code was awaited any longer." in stdout
    assert stdout.splitlines()[-1] == f"Ended the rental of {rented(stdout)}."
    assert "Traceback" not in stderr


def test_auto_responder_demo() -> None:
    result = run("auto_responder.py")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    e164 = rented(out)
    assert "webhook set to http://127.0.0.1:" in out
    assert "/sms/<secret>" in out
    assert f"  received  +447700900123 -> {e164}: 'Grüße aus Zürich! Haben Sie Brötchen?'" in out
    reply = "'Thanks for your message <<Grusse aus Zurich! Haben Sie Brotchen?>>. We are open"
    assert f"  replied   {reply}" in out
    assert f"  answered  HTTP 200 {reply}" in out  # the repeated delivery
    assert "  answer() ran 2 times for 3 deliveries." in out
    assert f"  out {e164} -> +447700900123: {reply}" in out
    assert out.splitlines()[-1] == f"Ended the rental of {e164}."
    assert "repeated delivery of message" in result.stderr
    assert "transliterated 6 non-ASCII character(s)" in result.stderr
    assert "Traceback" not in result.stderr


def test_auto_responder_with_a_token_needs_a_public_url() -> None:
    result = run("auto_responder.py", DTMF_TOKEN="a-token")
    assert result.returncode == 2
    assert "--public-url is needed" in result.stderr
