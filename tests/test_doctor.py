"""`dtmf doctor`, run as a subprocess: against the reference server, and against a drifting one."""

from __future__ import annotations

import copy
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dtmf._contract import OPERATIONS, Retry
from dtmf.cli._doctor import CONTRACT_READS, Doctor, Findings, inspect_body
from dtmf.testing import Emulator, serve_asgi
from dtmf.testing._openapi import result_model

from .cli_support import SENDER, TOKEN, run_cli
from .documented import DOC_GROUP, LIVE_NUMBER
from .wire import OPS, wire

pytest.importorskip("click")
pytest.importorskip("rich")


def _outputs(*results: subprocess.CompletedProcess[str]) -> str:
    return "".join(r.stdout + r.stderr for r in results)


def _doctor(base_url: str, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    result = run_cli(base_url, "doctor", *args, "--json", **env)
    return result, json.loads(result.stdout)


def _by_request(report: Any) -> dict[str, dict[str, Any]]:
    return {call["request"]: call for call in report["contract"]}


# Against the reference server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=4) as emulator:
        emulator.add_account(TOKEN, balance=5_000_000)
        with emulator.client(TOKEN) as client:
            for group in ("gb-mobile", "us-local"):
                number = client.numbers.rent(group)
            emulator.simulate_inbound_sms(number.e164, SENDER, "Grüße, code 1234")
            client.messages.send(number.e164, SENDER, "a reply")
        yield emulator


def test_the_reference_server_matches_and_nothing_changes(base_url: str, emu: Emulator) -> None:
    with emu.client(TOKEN) as client:
        rentals = [n.model_dump() for n in client.numbers.list()]
        addresses = client.addresses.list()
    balance = emu.account(TOKEN).balance
    seen = len(emu.requests)

    result, report = _doctor(base_url, "--contract")

    assert result.returncode == 0, result.stderr
    assert report["ok"] is True
    calls = _by_request(report)
    e164s = [r["e164"] for r in rentals]
    assert list(calls) == [
        "GET /account",
        "GET /addresses",
        "GET /groups?type=mobile",
        "GET /groups?type=local",
        "GET /numbers",
        *(f"GET /number?e164={e164}" for e164 in e164s),
    ]
    for call in calls.values():
        assert call["status"] == call["expected_status"] == 200
        assert call["verdict"] == "match", call
        assert call["dialect"] == "documented"
        assert call["unknown_fields"] == call["missing_fields"] == call["timestamps"] == []
    assert report["configuration"]["reachable"] is True
    assert report["configuration"]["token"] == "set (from DTMF_TOKEN)"
    assert abs(report["configuration"]["clock_skew_seconds"]) < 5
    # Nothing changed: the balance, the rentals, the addresses; only reads were made.
    assert emu.account(TOKEN).balance == balance
    with emu.client(TOKEN) as client:
        assert [n.model_dump() for n in client.numbers.list()] == rentals
        assert client.addresses.list() == addresses
    made = {record.operation for record in emu.requests[seen:]}
    assert made == {"account.get", "addresses.list", "groups.list", "numbers.list", "numbers.get"}
    assert TOKEN not in _outputs(result)


def test_without_contract_only_account_is_read(base_url: str, emu: Emulator) -> None:
    seen = len(emu.requests)
    result, report = _doctor(base_url)
    assert result.returncode == 0, result.stderr
    assert report["contract"] is None
    assert [r.operation for r in emu.requests[seen:]] == ["account.get"]
    assert report["installation"]["owners"] == ["dtmf-io"]
    assert report["installation"]["version"]
    assert report["installation"]["extras"]["cli"] is True
    assert report["installation"]["problems"] == []


def test_the_table(base_url: str) -> None:
    result = run_cli(base_url, "doctor", "--contract", "--no-json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split()[:3] == ["Provided", "by", "dtmf-io"] for line in lines)
    assert any("GET /groups?type=local" in line and " match " in line for line in lines)
    assert "Contract (read calls only)" in result.stdout
    assert TOKEN not in _outputs(result)


def test_a_bad_token_is_said_so(base_url: str) -> None:
    bad = "not-the-token-987"
    result, report = _doctor(base_url, "--contract", DTMF_TOKEN=bad)
    assert result.returncode == 3
    assert report["contract"] is None
    assert report["configuration"]["status"] == 401
    assert (
        "dtmf doctor: the API token was refused (HTTP 401): check --token or DTMF_TOKEN"
        in result.stderr.splitlines()
    )
    assert bad not in _outputs(result)


def test_no_token(base_url: str) -> None:
    result, report = _doctor(base_url, "--contract", DTMF_TOKEN="")
    assert result.returncode == 2
    assert report["configuration"]["token"] == "not set"
    assert report["installation"]["owners"] == ["dtmf-io"]  # still checked
    # Reachability too, without a token: the account's 401 is an answer.
    assert report["configuration"]["reachable"] is True
    assert report["configuration"]["status"] == 401
    assert "dtmf doctor: no API token: pass --token or set DTMF_TOKEN" in result.stderr


def test_an_unreachable_base_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result, report = _doctor(f"http://127.0.0.1:{port}/api/v1", "--contract")
    assert result.returncode == 4
    assert report["configuration"]["reachable"] is False
    assert "the base URL did not answer" in result.stderr
    assert TOKEN not in _outputs(result)


def test_help_says_it_changes_nothing(base_url: str) -> None:
    result = run_cli(base_url, "doctor", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "READ CALLS ONLY" in text
    assert "never rents, releases, sends, creates an address or changes anything" in text


def test_only_reads_are_ever_made() -> None:
    assert all(OPS[name].retry is Retry.READ for name in CONTRACT_READS)
    with httpx.Client() as http:
        doctor = Doctor(options=None, http=http)  # type: ignore[arg-type]
        for op in OPERATIONS:
            if op.retry is not Retry.READ:
                with pytest.raises(RuntimeError, match="read calls only"):
                    doctor.call(op.name)


# The unrelated `dtmf` distribution ------------------------------------------------------------


def test_the_unrelated_dtmf_distribution_is_warned_about(base_url: str, tmp_path: Path) -> None:
    info = tmp_path / "dtmf-0.0.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dtmf\nVersion: 0.0.9\n")
    (info / "top_level.txt").write_text("dtmf\n")
    result, report = _doctor(base_url, PYTHONPATH=str(tmp_path))
    assert result.returncode == 1
    assert "dtmf" in report["installation"]["claimants"]
    assert report["installation"]["owners"] == ["dtmf-io"]
    [problem] = report["installation"]["problems"]
    assert "unrelated 'dtmf' distribution is installed" in problem
    assert "pip uninstall dtmf, then pip install --force-reinstall dtmf-io" in problem


# Against a server whose answers drift ---------------------------------------------------------

DRIFT_TOKEN = "drift-token-55"
LATER = copy.deepcopy(LIVE_NUMBER)
LATER["next_renewal"] = "22 Feb 2019 16:07:25"  # only dateutil reads it

DRIFT: dict[str, tuple[int, Any]] = {
    "account.get": (200, {"balance": 5000, "currency": "BTC"}),  # a field the models lack
    "addresses.list": (404, {"error": "not_found", "message": "no such endpoint"}),
    # A documented field missing (one the model does not require).
    "groups.list": (
        200,
        [{k: v for k, v in DOC_GROUP.items() if k != "cost_per_inbound_call_minute"}],
    ),
    "numbers.list": (200, [LATER]),  # the later dialect
    "numbers.get": (200, LATER),
}


class DriftingServer:
    """An ASGI app answering each read of the wire table with a drifted body."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.routes = {wire(name): answer for name, answer in DRIFT.items()}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.seen.append((scope["method"], scope["path"]))
        headers = dict(scope["headers"])
        if headers.get(b"authorization") != f"Bearer {DRIFT_TOKEN}".encode():
            status, body = 401, {"error": "unauthorized", "message": "bad token"}
        else:
            status, body = self.routes.get((scope["method"], scope["path"]), (404, {}))
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture(scope="module")
def drifting() -> Iterator[tuple[str, DriftingServer]]:
    app = DriftingServer()
    with serve_asgi(app) as root:
        yield root + "/api/v1", app


def test_each_drift_is_reported_precisely(drifting: tuple[str, DriftingServer]) -> None:
    base_url, app = drifting
    result, report = _doctor(base_url, "--contract", DTMF_TOKEN=DRIFT_TOKEN)
    assert result.returncode == 3
    assert report["ok"] is False
    calls = _by_request(report)
    account = calls["GET /account"]
    assert (account["verdict"], account["unknown_fields"], account["missing_fields"]) == (
        "drift",
        ["currency"],
        [],
    )
    addresses = calls["GET /addresses"]
    assert (addresses["status"], addresses["verdict"]) == (404, "failed")
    assert "HTTP 404" in addresses["problem"]
    assert "not yet corroborated" in addresses["problem"]
    for request in ("GET /groups?type=mobile", "GET /groups?type=local"):
        groups = calls[request]
        assert groups["verdict"] == "drift"
        assert groups["missing_fields"] == ["[].cost_per_inbound_call_minute"]
        assert groups["unknown_fields"] == []
        assert groups["dialect"] == "incomplete documented"
    later_findings = {
        "dialect": "later",
        "unknown_fields": [],
        "missing_fields": [
            "cost_per_minute", "messages[].cost", "messages[].from", "messages[].success",
            "messages[].to",
        ],
        # In the models' field order.
        "timestamps": [
            "messages[].timestamp: empty (no timestamp)",
            "next_renewal: '22 Feb 2019 16:07:25' needed the fallback parser",
        ],
        "amounts": [
            "cost_per_inbound_message: '0.01' is a decimal amount, not satoshis",
            "cost_per_month: '2.50' is a decimal amount, not satoshis",
        ],
    }  # fmt: skip
    numbers = calls["GET /numbers"]
    one = calls[f"GET /number?e164={LATER['e164']}"]
    for call, prefix in ((numbers, "[]."), (one, "")):
        assert call["verdict"] == "drift"
        assert call["status"] == 200
        for key, expected in later_findings.items():
            if isinstance(expected, list):
                expected = [prefix + item for item in expected]
            assert call[key] == expected, key
    assert all(method == "GET" for method, _ in app.seen)
    assert DRIFT_TOKEN not in _outputs(result)


def test_the_drift_table(drifting: tuple[str, DriftingServer]) -> None:
    base_url, _ = drifting
    result = run_cli(
        base_url, "doctor", "--contract", "--no-json", DTMF_TOKEN=DRIFT_TOKEN, COLUMNS="250"
    )
    assert result.returncode == 3
    text = " ".join(result.stdout.split())
    assert "unknown field currency" in text
    assert "missing documented field [].cost_per_inbound_call_minute" in text
    assert "timestamp next_renewal: '22 Feb 2019 16:07:25' needed the fallback parser" in text
    assert "dtmf doctor: addresses.list (GET /addresses): failed" in result.stderr
    assert DRIFT_TOKEN not in _outputs(result)


@pytest.mark.parametrize("body", [LIVE_NUMBER, {**LIVE_NUMBER, "x": 1}])
def test_inspect_body_is_pure(body: dict[str, Any]) -> None:
    shape = result_model(OPS["numbers.get"])
    assert shape is not None
    before = copy.deepcopy(body)
    findings = Findings()
    inspect_body(shape[0], body, "", findings)
    assert body == before
    assert ("x" in findings.unknown) == ("x" in body)
    assert findings.dialect == "later"
