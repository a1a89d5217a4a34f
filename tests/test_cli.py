"""The `dtmf` command, run as a subprocess against the reference server on a port."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import dtmf
from dtmf.testing import Emulator
from dtmf.testing._control import control_url

from .cli_support import SENDER, TOKEN, cli_env, run_cli, wait_for_polls

pytest.importorskip("click")
pytest.importorskip("rich")

GROUP_KEYS = {
    "id", "type", "name", "country_code", "sms_support", "voice_support", "setup_cost",
    "rental_cost_per_minute", "cost_per_inbound_message", "cost_per_inbound_call_minute",
}  # fmt: skip
NUMBER_KEYS = {
    "e164", "group_id", "sms", "cost_per_minute", "cost_per_inbound_message",
    "assignment_start", "sms_forwarded_to", "messages",
}  # fmt: skip
MESSAGE_KEYS = {"from", "to", "content", "timestamp", "success", "cost"}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=3) as emulator:
        emulator.add_account(TOKEN, balance=10_000_000)
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[dtmf.Client]:
    with emu.client(TOKEN) as c:
        yield c


@pytest.fixture
def number(client: dtmf.Client) -> Iterator[str]:
    rented = client.numbers.rent("gb-mobile")
    yield rented.e164
    with contextlib.suppress(dtmf.NotFoundError):
        client.numbers.end_rental(rented.e164)


def _json(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_import_dtmf_does_not_import_click_or_rich() -> None:
    # httpx imports click and rich itself when they are installed (for its own
    # command line, httpx._main), so what counts is what dtmf adds after httpx.
    code = (
        "import sys, httpx; before = set(sys.modules); import dtmf, dtmf.webhooks; "
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
        "('click', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    blocked = "import sys; sys.modules['click'] = sys.modules['rich'] = None; import dtmf, dtmf.cli"
    subprocess.run([sys.executable, "-c", blocked], check=True)


def test_without_click_it_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['rich'] = None; from dtmf.cli import main; "
        "sys.exit(main(['account']))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "dtmf: the command line needs rich: pip install 'dtmf-io[cli]'"
    ]


def test_installed_command(base_url: str) -> None:
    command = Path(sys.executable).with_name("dtmf")
    if not command.exists():
        pytest.skip("the dtmf script is not installed in this environment")
    out = subprocess.run(
        [str(command), "account", "--json"],
        capture_output=True,
        text=True,
        env=cli_env(base_url),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)) == {"balance"}


def test_account(base_url: str, emu: Emulator) -> None:
    assert _json(run_cli(base_url, "account")) == {"balance": emu.account(TOKEN).balance}
    human = run_cli(base_url, "account", "--no-json")
    balance = emu.account(TOKEN).balance
    assert human.stdout.strip() == f"Balance: {balance:,} satoshis ({balance / 1e8:.8f} BTC)"


def test_addresses_and_new(base_url: str, client: dtmf.Client) -> None:
    before = _json(run_cli(base_url, "addresses"))
    assert isinstance(before, list)
    assert all(set(a) == {"address"} for a in before)
    created = _json(run_cli(base_url, "addresses", "--new"))
    assert isinstance(created, dict)
    assert set(created) == {"address"}
    assert created["address"] in [a.address for a in client.addresses.list()]


def test_groups_sort_and_filter(base_url: str, client: dtmf.Client) -> None:
    groups = _json(run_cli(base_url, "groups", "mobile", "--sms", "--sort", "setup"))
    assert isinstance(groups, list)
    assert groups
    assert all(set(g) == GROUP_KEYS and g["sms_support"] for g in groups)
    costs = [g["setup_cost"] for g in groups]
    assert costs == sorted(costs)
    expected = {g.id for g in client.groups.list("mobile") if g.sms_support}
    assert {g["id"] for g in groups} == expected

    some = _json(run_cli(base_url, "groups", "local", "--country", "GB", "--country", "us"))
    assert isinstance(some, list)
    assert some
    assert {g["country_code"] for g in some} <= {"gb", "us"}
    reverse = _json(run_cli(base_url, "groups", "mobile", "--sort", "rental", "--reverse"))
    assert isinstance(reverse, list)
    rental = [g["rental_cost_per_minute"] for g in reverse]
    assert rental == sorted(rental, reverse=True)

    table = run_cli(base_url, "--no-json", "groups", "mobile", "--country", "gb")
    assert table.returncode == 0
    assert "gb-mobile" in table.stdout
    assert "{" not in table.stdout
    bad = run_cli(base_url, "groups", "landline")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1


def test_rent_numbers_show_send_and_release(
    base_url: str, emu: Emulator, client: dtmf.Client
) -> None:
    rented = _json(run_cli(base_url, "rent", "gb-mobile"))
    assert isinstance(rented, dict)
    assert set(rented) == NUMBER_KEYS
    e164 = rented["e164"]
    assert e164 in [n.e164 for n in client.numbers.list()]

    listed = _json(run_cli(base_url, "numbers"))
    assert isinstance(listed, list)
    assert e164 in [n["e164"] for n in listed]

    sent = _json(run_cli(base_url, "send", e164, SENDER, "Grüße aus Zürich"))
    assert sent == {
        "from": e164, "to": SENDER, "content": "Grusse aus Zurich", "length": 17, "sent": True
    }  # fmt: skip
    human = run_cli(base_url, "--no-json", "send", e164, SENDER, "Zürich")
    assert human.returncode == 0
    assert "Rendered to ASCII: Zurich" in human.stderr
    assert "Sent 6/160 characters" in human.stdout

    shown = _json(run_cli(base_url, "numbers", "show", e164))
    assert isinstance(shown, dict)
    assert set(shown) == NUMBER_KEYS
    assert [m["content"] for m in shown["messages"]] == ["Grusse aus Zurich", "Zurich"]
    assert all(set(m) == MESSAGE_KEYS for m in shown["messages"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", shown["messages"][0]["timestamp"])
    table = run_cli(base_url, "numbers", "show", e164, "--no-json")
    assert table.returncode == 0
    assert "Grusse aus Zurich" in table.stdout
    assert "gb-mobile" in table.stdout

    released = _json(run_cli(base_url, "release", e164))
    assert released == {"e164": e164, "released": True}
    assert e164 not in [n.e164 for n in client.numbers.list()]
    gone = run_cli(base_url, "numbers", "show", e164)
    assert gone.returncode == 3
    assert gone.stderr.startswith("dtmf: error: ")
    assert len(gone.stderr.splitlines()) == 1


def test_send_over_160_is_refused_without_a_request(
    base_url: str, emu: Emulator, number: str
) -> None:
    before = len(emu.requests)
    result = run_cli(base_url, "send", number, SENDER, "é" * 161)
    assert result.returncode == 2
    assert "161 ASCII characters" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""
    assert len(emu.requests) == before


def test_send_reads_stdin_and_dry_run_sends_nothing(
    base_url: str, emu: Emulator, number: str
) -> None:
    before = len(emu.requests)
    dry = _json(run_cli(base_url, "send", number, SENDER, "-", "--dry-run", input="hi €5\n"))
    assert dry == {"from": number, "to": SENDER, "content": "hi EUR5", "length": 7, "sent": False}
    assert len(emu.requests) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["forward", SENDER], SENDER),
        (["webhook", "https://example.org/hook"], "https://example.org/hook"),
        (["none"], None),
    ],
)
def test_sms_action(
    base_url: str, client: dtmf.Client, number: str, args: list[str], expected: str | None
) -> None:
    result = _json(run_cli(base_url, "sms-action", number, *args))
    action = None if args[0] == "none" else args[0]
    assert result == {"e164": number, "action": action, "destination": expected}
    assert client.numbers.get(number).sms_forwarded_to == expected


@pytest.mark.parametrize(
    "args", [["forward"], ["none", SENDER], ["webhook", "ftp://x"], ["forward", "123"]]
)
def test_sms_action_usage_errors(base_url: str, number: str, args: list[str]) -> None:
    result = run_cli(base_url, "sms-action", number, *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def _inject_later(
    base_url: str, emu: Emulator, e164: str, content: str, since: int
) -> threading.Thread:
    def inject() -> None:
        wait_for_polls(emu, e164, 2, since)  # numbers.get, then the first (baseline) poll
        response = httpx.post(
            control_url(base_url, "inbound"),
            json={"to": e164, "sender": SENDER, "content": content},
            trust_env=False,
        )
        assert response.status_code == 201

    thread = threading.Thread(target=inject, daemon=True)
    thread.start()
    return thread


def test_wait_captures_a_code(base_url: str, emu: Emulator, number: str) -> None:
    thread = _inject_later(base_url, emu, number, "Your code is 482913.", len(emu.requests))
    result = run_cli(base_url, "wait", number, "--match", r"code is (\d+)", "--timeout", "20")
    thread.join(5)
    answer = _json(result)
    assert isinstance(answer, dict)
    assert answer["code"] == "482913"
    assert answer["message"]["content"] == "Your code is 482913."
    assert answer["message"]["from"] == SENDER
    assert set(answer["message"]) == MESSAGE_KEYS


def test_wait_human_prints_the_code_alone(base_url: str, emu: Emulator, number: str) -> None:
    thread = _inject_later(base_url, emu, number, "G-1234 is your code", len(emu.requests))
    result = run_cli(base_url, "--no-json", "wait", number, "--match", r"G-\d+", "--timeout", "20")
    thread.join(5)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "G-1234\n"
    assert "G-1234 is your code" in result.stderr


def test_wait_times_out_and_bad_regex(base_url: str, number: str) -> None:
    result = run_cli(base_url, "wait", number, "--timeout", "0.2")
    assert result.returncode == 5
    assert "within 0.2 s" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    bad = run_cli(base_url, "wait", number, "--match", "(")
    assert bad.returncode == 2
    assert "regular expression" in bad.stderr


def test_bad_token_is_an_api_error(base_url: str) -> None:
    result = run_cli(base_url, "--token", "wrong-token", "account")
    assert result.returncode == 3
    assert result.stderr.startswith("dtmf: error: ")
    assert "401" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert "wrong-token" not in result.stderr + result.stdout


def test_missing_token_is_a_usage_error(base_url: str) -> None:
    result = run_cli(base_url, "account", DTMF_TOKEN="")
    assert result.returncode == 2
    assert "--token" in result.stderr


def test_unreachable_base_url_is_a_network_error() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli(f"http://127.0.0.1:{port}/api/v1", "account")
    assert result.returncode == 4
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    debug = run_cli(f"http://127.0.0.1:{port}/api/v1", "account", "--debug")
    assert debug.returncode == 4
    assert "Traceback" in debug.stderr
    assert TOKEN not in debug.stderr


def test_emulator_inbound_command(base_url: str, client: dtmf.Client, number: str) -> None:
    answer = _json(
        run_cli(base_url, "emulator", "inbound", number, "--from", SENDER, "--text", "hey")
    )
    assert isinstance(answer, dict)
    assert answer["webhook"] is None
    assert answer["message"]["content"] == "hey"
    assert answer["message"]["to"] == number
    assert client.numbers.get(number).inbound_messages[-1].content == "hey"
    refused = run_cli(
        base_url, "emulator", "inbound", "+15550000000", "--from", SENDER, "--text", "x"
    )
    assert refused.returncode == 3
    assert "not rented" in refused.stderr


def test_help_has_examples_for_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    from dtmf.cli._app import run

    commands = ["account", "addresses", "groups", "numbers", "numbers show", "rent", "release"]
    commands += ["sms-action", "send", "wait", "listen", "emulator inbound", "rentals"]
    assert run(["--help"]) == 0
    top = capsys.readouterr().out
    assert "Examples:" in top
    assert "Exit codes:" in top
    assert "_DTMF_COMPLETE=bash_source" in top
    for command in commands:
        assert run([*command.split(), "--help"]) == 0
        assert "Examples:" in capsys.readouterr().out, command


def test_emulator_help_and_completion() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "dtmf.cli", "emulator", "--help"], capture_output=True, text=True
    )
    assert help_text.returncode == 0
    assert "dtmf emulator" in help_text.stdout
    assert "/_emulator/inbound" in help_text.stdout
    env = {"_DTMF_COMPLETE": "bash_source", "PATH": "/usr/bin:/bin"}
    script = subprocess.run(
        [sys.executable, "-m", "dtmf.cli"], capture_output=True, text=True, env=env
    )
    assert "_DTMF_COMPLETE" in script.stdout
    assert "complete" in script.stdout


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_emulator_on_a_busy_port_is_one_line_and_a_usage_error() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        advice = f"port {port} on 127.0.0.1 is in use; pick another with --port (0 = any free port)"
        for command, prefix in [("dtmf.cli", "dtmf"), ("dtmf.testing", "python -m dtmf.testing")]:
            args = [sys.executable, "-m", command, *(["emulator"] if command == "dtmf.cli" else [])]
            result = subprocess.run(
                [*args, "--port", str(port)], capture_output=True, text=True, timeout=30
            )
            assert result.returncode == 2, result.stderr
            assert _one_line(result.stderr) == f"{prefix}: {advice}"
            assert result.stdout == ""


def test_serving_without_uvicorn_says_what_to_install() -> None:
    code = (
        "import runpy, sys; sys.modules['uvicorn'] = None; sys.argv[1:] = ['--port', '0']; "
        "runpy.run_module('dtmf.testing', run_name='__main__', alter_sys=True)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert _one_line(result.stderr) == (
        "python -m dtmf.testing needs uvicorn: pip install 'dtmf-io[testing]'"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--balance", "-5"], "argument --balance: must be 0 or more satoshis, not -5"),
        (["--port", "70000"], "argument --port: must be 0 to 65535"),
        (["--pool-size", "0"], "argument --pool-size: must be 1 or more, not 0"),
        (["--token", "a b"], "argument --token: must be a single printable ASCII word"),
        (["--log-level", "loud"], "argument --log-level: invalid choice"),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_emulator_arguments_are_usage_errors(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from dtmf.cli._app import run

    assert run(["emulator", "--port", "0", *args]) == 2
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    assert line.startswith(f"dtmf emulator: error: {expected}"), line
    assert line.endswith("(see 'dtmf emulator --help')")
    assert captured.out == ""


def test_emulator_help_shows_defaults_and_how_it_ends(capsys: pytest.CaptureFixture[str]) -> None:
    from dtmf.cli._app import run

    assert run(["emulator", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in ("127.0.0.1", "8765", "test-token", "10000000"):
        assert f"(default: {default}" in text, default
    assert "exits 0 when stopped with Ctrl-C or SIGTERM" in text
    assert run(["emulator", "inbound", "--help"]) == 0
    inbound = " ".join(capsys.readouterr().out.split())
    assert "https://dtmf.io" not in inbound
    assert "then http://127.0.0.1:8765/api/v1)" in inbound
    assert run(["--help"]) == 0
    top = " ".join(capsys.readouterr().out.split())
    assert "times in JSON are UTC, written as the service documents them: no offset" in top
    assert "exit 0 when stopped with Ctrl-C or SIGTERM" in top


def test_configuration_errors_give_command_line_advice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dtmf.cli._app import Settings, run

    monkeypatch.delenv("DTMF_TOKEN", raising=False)
    monkeypatch.setenv("DTMF_BASE_URL", "http://127.0.0.1:9/api/v1")
    assert run(["account"]) == 2
    assert (
        _one_line(capsys.readouterr().err) == "dtmf: no API token: pass --token or set DTMF_TOKEN"
    )

    monkeypatch.setenv("DTMF_TOKEN", "t")
    monkeypatch.setenv("DTMF_BASE_URL", "http://example.org/api/v1")
    assert run(["account"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("dtmf: the base URL 'http://example.org/api/v1' (from $DTMF_BASE_URL)")
    assert "--allow-http" in line
    assert "allow_http=True" not in line
    assert "--token" not in line

    monkeypatch.setenv("DTMF_BASE_URL", "http://127.0.0.1:9/api/v1")
    assert run(["account", "--token", "two words"]) == 2
    assert _one_line(capsys.readouterr().err).endswith("(pass --token or set DTMF_TOKEN)")

    monkeypatch.setenv("DTMF_BASE_URL", "http://example.org/api/v1")
    with Settings(allow_http=True).client() as client:  # --allow-http: the SDK allows it
        assert client.base_url == "http://example.org/api/v1"


def test_tables_fit_80_columns_without_splitting_headers_or_words(emu: Emulator) -> None:
    import io

    from rich.console import Console

    from dtmf.cli._output import (
        GROUP_COLUMNS,
        MESSAGE_COLUMNS,
        NUMBER_COLUMNS,
        Output,
        group_rows,
        message_rows,
        number_rows,
    )

    long_url = "https://example.org/a/very/long/webhook/path/for/testing/" + "x" * 40
    with emu.client(TOKEN) as client:
        groups = client.groups.list("mobile")
        number = client.numbers.rent("us-mobile")
        try:
            number.set_sms_action("webhook", long_url)
            emu.simulate_inbound_sms(number.e164, SENDER, "Your verification code is 123456, " * 3)
            number = client.numbers.get(number.e164)
            tables = [
                (GROUP_COLUMNS, group_rows(groups)),
                (NUMBER_COLUMNS, number_rows([number])),
                (MESSAGE_COLUMNS, message_rows(number)),
            ]
        finally:
            client.numbers.end_rental(number.e164)
    for columns, rows in tables:
        out = Output(as_json=False)
        out.out = Console(file=io.StringIO(), width=80, no_color=True)
        out.table(columns, rows)
        lines = out.out.file.getvalue().splitlines()  # type: ignore[attr-defined]
        assert all(len(line) <= 80 for line in lines)
        header = lines[0]
        for column in columns:
            assert column in header, (column, header)  # the whole header, on one line
        ends = {len(line.rstrip()) for line in lines[2:] if line.strip()}
        if columns is GROUP_COLUMNS:  # costs are right-aligned under their header
            assert ends == {len(header.rstrip())}
            assert any("United Kingdom" in line for line in lines)
            assert all("…" not in line for line in lines)
        if columns is NUMBER_COLUMNS:  # a URL too long for the column is cut, not folded
            assert any(line.rstrip().endswith("…") for line in lines)


def test_times_for_people_show_their_zone_and_json_times_have_no_offset() -> None:
    from datetime import datetime, timezone

    from dtmf.cli._output import json_time, local_time

    moment = datetime(2026, 11, 25, 22, 35, 16, 82160, tzinfo=timezone.utc)
    zone = moment.astimezone().tzname()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+", local_time(moment))
    assert local_time(moment).endswith(f" {zone}") or "UTC" in local_time(moment)
    assert re.fullmatch(r"\d\d:\d\d:\d\d \S+", local_time(moment, date=False))
    assert json_time(moment) == "2026-11-25T22:35:16.082160"
