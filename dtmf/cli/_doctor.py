"""`dtmf doctor`: checks the installation, the configuration and (--contract) a live account.

The contract check makes read calls only (`Retry.READ` operations of the wire table),
each built by the SDK's own request builder, and compares every answer with the wire
table and the models: the status, fields the models do not know, documented fields
that are missing, which dialect of the service came back, and timestamps only the
fallback parser reads. It never makes a paid or changing call.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from importlib import metadata
from pathlib import Path
from typing import Any, cast, get_args
from urllib.parse import unquote, urlsplit

import click
import httpx
from pydantic import BaseModel

from .._contract import OPERATIONS, Operation, Retry
from .._core import ClientOptions, build_request, check_base_url, status_error
from .._errors import ConfigurationError
from .._timestamps import parse_timestamp
from ..testing._openapi import (
    CORROBORATED,
    documented_fields,
    model_in,
    result_model,
    wire_fields,
)
from ._app import (
    DEFAULT_API_URL,
    EXIT_API,
    EXIT_FAILURE,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_USAGE,
    CommandLineError,
    cli,
    global_options,
    settings,
)
from ._output import Output

__all__: list[str] = []

DISTRIBUTION = "dtmf-io"
UNRELATED = "dtmf"
SKEW_WARNING_SECONDS = 30.0
TIMEOUT = 15.0

OPS: dict[str, Operation[Any, Any, Any]] = {op.name: op for op in OPERATIONS}
CONTRACT_READS = ("account.get", "addresses.list", "groups.list", "numbers.list", "numbers.get")
"""The operations --contract calls: reads only (`Doctor.call` refuses any other)."""


# Installation -------------------------------------------------------------------------


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _claims_dtmf(dist: metadata.Distribution) -> bool:
    """Whether a distribution installs a top-level `dtmf` package."""
    top_level = dist.read_text("top_level.txt")
    if top_level is not None and "dtmf" in top_level.split():
        return True
    return any(file.parts[:1] == ("dtmf",) for file in dist.files or ())


def _owns(dist: metadata.Distribution, package: Path) -> bool:
    """Whether the imported `dtmf` package at `package` comes from this distribution."""
    for file in dist.files or ():
        if (
            file.parts == ("dtmf", "__init__.py")
            and Path(str(dist.locate_file(file))).resolve().parent == package
        ):
            return True
    direct = dist.read_text("direct_url.json")
    if direct:  # an editable install points at its source tree
        try:
            found: Any = json.loads(direct)
        except ValueError:
            return False
        url = str(cast("dict[str, Any]", found).get("url", "")) if isinstance(found, dict) else ""
        if url.startswith("file://"):
            source = Path(unquote(urlsplit(url).path)).resolve()
            return package in (source / "dtmf", source / "src" / "dtmf")
    return False


_EXTRA = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def _extras(dist: metadata.Distribution) -> dict[str, bool]:
    """Each extra of the distribution: whether everything it adds is installed."""
    needs: dict[str, list[str]] = {
        name: [] for name in dist.metadata.get_all("Provides-Extra") or []
    }
    for requirement in dist.requires or ():
        marker = _EXTRA.search(requirement)
        name = _NAME.match(requirement)
        if marker and name and marker.group(1) in needs:
            needs[marker.group(1)].append(name.group(0))
    return {extra: all(_installed(name) for name in names) for extra, names in needs.items()}


@dataclass
class Installation:
    package: str
    """Where the imported `dtmf` package is."""
    owners: list[str]
    """The distributions the imported package comes from."""
    claimants: list[str]
    """Every installed distribution with a top-level `dtmf` package."""
    version: str | None
    extras: dict[str, bool]
    problems: list[str] = field(default_factory=list[str])


def check_installation() -> Installation:
    """Which distribution owns the imported `dtmf` package, its extras, and conflicts."""
    import dtmf

    package = Path(dtmf.__file__).resolve().parent
    owners: list[str] = []
    claimants: list[str] = []
    ours: metadata.Distribution | None = None
    for dist in metadata.distributions():
        name = dist.metadata["Name"] or "?"
        if _normalise(name) == DISTRIBUTION and ours is None:
            ours = dist
        if _owns(dist, package) and name not in owners:
            owners.append(name)
        if (_claims_dtmf(dist) or _normalise(name) == UNRELATED) and name not in claimants:
            claimants.append(name)
    report = Installation(
        package=str(package),
        owners=owners,
        claimants=claimants,
        version=ours.version if ours is not None else None,
        extras=_extras(ours) if ours is not None else {},
    )
    unrelated = [name for name in claimants if _normalise(name) == UNRELATED]
    if unrelated:
        report.problems.append(
            f"the unrelated '{UNRELATED}' distribution is installed: it has the same import name "
            "(dtmf) and can overwrite dtmf-io's files. Fix: pip uninstall dtmf, then "
            "pip install --force-reinstall dtmf-io"
        )
    if ours is None:
        report.problems.append(
            "no dtmf-io distribution is installed (dtmf is imported from a source tree); "
            "pip install dtmf-io"
        )
    elif not any(_normalise(name) == DISTRIBUTION for name in owners):
        report.problems.append(
            f"the imported dtmf package ({package}) does not come from dtmf-io "
            f"({', '.join(owners) or 'no distribution'} installed it): pip install "
            "--force-reinstall dtmf-io"
        )
    return report


# The contract ---------------------------------------------------------------------------


def _mentions(annotation: Any, kind: type) -> bool:
    if annotation is kind:
        return True
    return any(_mentions(argument, kind) for argument in get_args(annotation))


@dataclass
class Findings:
    """What an answer's body showed, field paths written 'messages[].from'."""

    unknown: list[str] = field(default_factory=list[str])
    missing: list[str] = field(default_factory=list[str])
    timestamps: list[str] = field(default_factory=list[str])
    amounts: list[str] = field(default_factory=list[str])
    dialects: set[str] = field(default_factory=set[str])

    def note(self, bucket: list[str], text: str) -> None:
        if text not in bucket:
            bucket.append(text)

    @property
    def dialect(self) -> str | None:
        if not self.dialects:
            return None
        if len(self.dialects) == 1:
            return next(iter(self.dialects))
        return "mixed (" + ", ".join(sorted(self.dialects)) + ")"


def _timestamp(value: Any, path: str, findings: Findings) -> None:
    if not isinstance(value, str):
        return
    if not value.strip():
        findings.note(findings.timestamps, f"{path}: empty (no timestamp)")
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        return
    try:
        parse_timestamp(value)
    except ValueError:
        findings.note(findings.timestamps, f"{path}: {value!r} is not a timestamp")
    else:
        findings.note(findings.timestamps, f"{path}: {value!r} needed the fallback parser")


def inspect_body(model: type[BaseModel], value: Any, path: str, findings: Findings) -> None:
    """Compare one object of an answer with `model` (and its nested models), into `findings`."""
    if not isinstance(value, dict):
        return  # the model's own validation reports it
    fields: dict[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
    known = wire_fields(model)
    for key in fields:
        if key not in known:
            findings.note(findings.unknown, f"{path}{key}")
    documented = documented_fields(model)
    if documented is not None:
        missing = sorted(documented - fields.keys())
        for key in missing:
            findings.note(findings.missing, f"{path}{key}")
        later = (known - documented) & fields.keys()
        if not missing:
            findings.dialects.add("documented")
        elif later:
            findings.dialects.add("later")
        else:
            findings.dialects.add("incomplete documented")
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in fields:
            continue
        item = fields[key]
        nested = model_in(info.annotation)
        if nested is not None:
            items: list[Any] = item if isinstance(item, list) else [item]  # pyright: ignore[reportUnknownVariableType]
            suffix = "[]." if isinstance(item, list) else "."
            for element in items:
                inspect_body(nested, element, f"{path}{key}{suffix}", findings)
        elif _mentions(info.annotation, datetime):
            _timestamp(item, f"{path}{key}", findings)
        elif _mentions(info.annotation, Decimal) and isinstance(item, str):
            findings.note(
                findings.amounts, f"{path}{key}: {item!r} is a decimal amount, not satoshis"
            )


@dataclass
class CallReport:
    operation: str
    request: str
    expected_status: int
    corroborated: bool
    status: int | None = None
    verdict: str = "failed"
    """'match', 'drift' (answered, but not as the wire table says) or 'failed'."""
    dialect: str | None = None
    unknown_fields: list[str] = field(default_factory=list[str])
    missing_fields: list[str] = field(default_factory=list[str])
    timestamps: list[str] = field(default_factory=list[str])
    amounts: list[str] = field(default_factory=list[str])
    problem: str | None = None

    def findings(self) -> list[str]:
        """Everything that did not match, as lines for people."""
        lines = [f"unknown field {name}" for name in self.unknown_fields]
        lines += [f"missing documented field {name}" for name in self.missing_fields]
        lines += [f"timestamp {text}" for text in self.timestamps]
        lines += [f"amount {text}" for text in self.amounts]
        if self.problem:
            lines.append(self.problem)
        return lines


class _Unreachable(Exception):
    """The base URL did not answer."""


@dataclass
class Doctor:
    """Makes the read calls with one httpx client; never a changing one."""

    options: ClientOptions
    http: httpx.Client

    def call(self, name: str, *args: Any) -> tuple[CallReport, httpx.Response | None]:
        op = OPS[name]
        if name not in CONTRACT_READS or op.retry is not Retry.READ:
            raise RuntimeError(f"dtmf doctor makes read calls only, not {name}")
        wire = op.signature(*args)
        request = build_request(self.options, op, wire)
        shown = request.url.path.removeprefix(urlsplit(self.options.base_url).path)
        if request.url.query:
            shown += "?" + unquote(request.url.query.decode())
        report = CallReport(
            operation=name,
            request=f"{op.method} {shown}",
            expected_status=op.success_status,
            corroborated=name in CORROBORATED,
        )
        try:
            response = self.http.send(request)
        except httpx.HTTPError as exc:
            raise _Unreachable(
                f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ) from None
        report.status = response.status_code
        if response.status_code != op.success_status:
            report.problem = str(status_error(op, wire, f"{op.method} {shown}", response, 0))
            if response.status_code == 404 and name not in CORROBORATED:
                report.problem += (
                    f" ({op.method} {op.path} is this project's choice, not yet corroborated: "
                    "the service may use another path)"
                )
            return report, response
        self._compare(op, response, report)
        return report, response

    @staticmethod
    def _compare(
        op: Operation[Any, Any, Any], response: httpx.Response, report: CallReport
    ) -> None:
        shape = result_model(op)
        if shape is None:
            report.verdict = "match"
            return
        try:
            body: Any = json.loads(response.content)
        except ValueError as exc:
            report.problem = f"the body is not JSON: {exc}"
            return
        try:
            op.result.parse_sync(response.content)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            first = str(exc).splitlines()
            report.problem = "the models cannot read it: " + " ".join(first[:3])
        model, many = shape
        findings = Findings()
        if many:
            if isinstance(body, list):
                for item in body:  # pyright: ignore[reportUnknownVariableType]
                    inspect_body(model, item, "[].", findings)
            else:
                report.problem = report.problem or "expected a JSON array"
        else:
            inspect_body(model, body, "", findings)
        report.unknown_fields = findings.unknown
        report.missing_fields = findings.missing
        report.timestamps = findings.timestamps
        report.amounts = findings.amounts
        report.dialect = findings.dialect
        report.verdict = "drift" if report.findings() else "match"


def contract_calls(
    doctor: Doctor, account: tuple[CallReport, httpx.Response | None]
) -> list[CallReport]:
    """The read calls, in order: account (already made), addresses, groups, numbers, each number."""
    reports = [account[0]]
    for name, args in (
        ("addresses.list", ()),
        ("groups.list", ("mobile",)),
        ("groups.list", ("local",)),
    ):
        reports.append(doctor.call(name, *args)[0])
    numbers, response = doctor.call("numbers.list")
    reports.append(numbers)
    rented: list[str] = []
    if numbers.verdict != "failed" and response is not None:
        try:
            listed: Any = json.loads(response.content)
        except ValueError:
            listed = []
        if isinstance(listed, list):
            rented = [
                item["e164"]
                for item in listed  # pyright: ignore[reportUnknownVariableType]
                if isinstance(item, dict) and isinstance(item.get("e164"), str)  # pyright: ignore[reportUnknownMemberType]
            ]
    for e164 in rented:
        try:
            reports.append(doctor.call("numbers.get", e164)[0])
        except ValueError as exc:  # a listed number the SDK's own check refuses
            reports.append(
                CallReport("numbers.get", f"GET /number?e164={e164}", 200, True, problem=str(exc))
            )
    return reports


# Configuration ------------------------------------------------------------------------


@dataclass
class Configuration:
    token: str
    """'set (from --token)', 'set (from DTMF_TOKEN)' or 'not set': never the token."""
    base_url: str
    reachable: bool | None = None
    status: int | None = None
    clock_skew_seconds: float | None = None
    problems: list[str] = field(default_factory=list[str])
    warnings: list[str] = field(default_factory=list[str])


def _skew(response: httpx.Response, sent: datetime, received: datetime) -> float | None:
    header = response.headers.get("date")
    if not header:
        return None
    try:
        server = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=timezone.utc)
    middle = sent + (received - sent) / 2
    # The header counts whole seconds: the service's time was within the second it names.
    return round((server - middle).total_seconds() + 0.5, 1)


# The command ------------------------------------------------------------------------------

HELP = """Check the installation, the configuration and, with --contract, your account.

\b
Installation: which distribution provides the `dtmf` package (a warning and
the fix when the unrelated `dtmf` distribution is installed), and which
extras are present.
Configuration: the token is set (it is never printed), the base URL
answers, and this machine's clock against the service's Date header.

\b
--contract makes READ CALLS ONLY: account.get, addresses.list, groups.list
(mobile and local), numbers.list and numbers.get for each number you rent.
It never rents, releases, sends, creates an address or changes anything,
and costs nothing. For each call it shows the status and whether the answer
matched the wire table: fields the SDK does not know, documented fields
that are missing, which dialect of the service came back, and timestamps
that needed the fallback parser.

\b
Exit codes: 0 all matched; 2 no token; 3 the API refused (a bad token) or
answered differently from the wire table; 4 the base URL did not answer;
1 an installation problem.

\b
Examples:
  dtmf doctor
  dtmf doctor --contract
  dtmf doctor --contract --json > doctor.json
"""


@dataclass
class Report:
    installation: Installation
    configuration: Configuration
    contract: list[CallReport] | None = None
    exit_code: int = EXIT_OK


def _token_source() -> tuple[str | None, str]:
    chosen = settings().token
    if chosen is not None:
        return chosen, "set (from --token)"
    value = os.environ.get("DTMF_TOKEN")
    if value:
        return value, "set (from DTMF_TOKEN)"
    return None, "not set"


def _note_answer(
    configuration: Configuration, response: httpx.Response, sent: datetime, received: datetime
) -> None:
    """The base URL answered: note the status and the clock skew."""
    configuration.reachable = True
    configuration.status = response.status_code
    skew = configuration.clock_skew_seconds = _skew(response, sent, received)
    if skew is not None and abs(skew) > SKEW_WARNING_SECONDS:
        configuration.warnings.append(
            f"this machine's clock is {abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'} "
            "the service's: timestamps you compare with the service's (wait_for_message's "
            "since=) are off by as much; sync the clock (NTP)"
        )


def _probe_without_token(configuration: Configuration) -> None:
    """Whether the base URL answers at all (a 401 is an answer): nothing secret is sent."""
    try:
        base_url = check_base_url(configuration.base_url, allow_http=True)
    except ConfigurationError as exc:
        configuration.problems.append(str(exc))
        return
    account = OPS["account.get"]
    trust_env = not base_url.startswith("http://")
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=trust_env) as http:
        sent = datetime.now(timezone.utc)
        try:
            response = http.request(account.method, base_url + account.path)
        except httpx.HTTPError as exc:
            configuration.reachable = False
            configuration.problems.append(f"the base URL did not answer: {type(exc).__name__}")
            return
    _note_answer(configuration, response, sent, datetime.now(timezone.utc))


def diagnose(contract: bool) -> Report:
    """Run every check; network and API failures become findings, not exceptions."""
    installation = check_installation()
    token, shown = _token_source()
    base_url = settings().api_base_url() or DEFAULT_API_URL
    configuration = Configuration(token=shown, base_url=base_url)
    report = Report(installation, configuration)
    if token is None:
        configuration.problems.append("no API token: pass --token or set DTMF_TOKEN")
        report.exit_code = EXIT_USAGE
        _probe_without_token(configuration)
        return report
    try:
        settings().client().close()  # the command line's own checks of the token and URL
        options = ClientOptions.create(
            token, settings().api_base_url(), TIMEOUT, TIMEOUT, 0, settings().allow_http
        )
    except (CommandLineError, ConfigurationError) as exc:
        configuration.problems.append(str(exc))
        report.exit_code = EXIT_USAGE
        return report
    configuration.base_url = options.base_url
    # As the SDK's client: no proxy from the environment for plain http (to this machine).
    trust_env = not options.base_url.startswith("http://")
    with httpx.Client(timeout=options.timeout, follow_redirects=False, trust_env=trust_env) as http:
        doctor = Doctor(options, http)
        sent = datetime.now(timezone.utc)
        try:
            account = doctor.call("account.get")
        except _Unreachable as exc:
            configuration.reachable = False
            configuration.problems.append(f"the base URL did not answer: {exc}")
            report.exit_code = EXIT_NETWORK
            return report
        first, response = account
        if response is not None:
            _note_answer(configuration, response, sent, datetime.now(timezone.utc))
        if first.status == 401:
            configuration.problems.append(
                "the API token was refused (HTTP 401): check --token or DTMF_TOKEN"
            )
            report.exit_code = EXIT_API
            return report
        if contract:
            try:
                report.contract = contract_calls(doctor, account)
            except _Unreachable as exc:
                configuration.problems.append(f"the base URL stopped answering: {exc}")
                report.exit_code = EXIT_NETWORK
                return report
    if report.contract is not None and any(c.verdict != "match" for c in report.contract):
        report.exit_code = EXIT_API
    elif installation.problems:
        report.exit_code = EXIT_FAILURE
    return report


def _as_json(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ok": report.exit_code == EXIT_OK,
        "installation": asdict(report.installation),
        "configuration": asdict(report.configuration),
        "contract": None,
    }
    if report.contract is not None:
        data["contract"] = [asdict(call) for call in report.contract]
    return data


def _show(out: Output, report: Report) -> None:
    install = report.installation
    out.line("Installation", style="bold")
    extras = ", ".join(
        f"{name} {'yes' if ok else 'no'}" for name, ok in sorted(install.extras.items())
    )
    out.fields(
        [
            ("dtmf package", install.package),
            ("Provided by", ", ".join(install.owners) or "-"),
            ("dtmf-io", install.version or "not installed"),
            ("Extras", extras or "-"),
        ]
    )
    for problem in install.problems:
        out.line(f"problem: {problem}")
    config = report.configuration
    skew = config.clock_skew_seconds
    out.line("Configuration", style="bold")
    out.fields(
        [
            ("Token", config.token),
            ("Base URL", config.base_url),
            (
                "Reachable",
                "-"
                if config.reachable is None
                else (f"yes (HTTP {config.status})" if config.reachable else "no"),
            ),
            (
                "Clock skew",
                "-"
                if skew is None
                else f"{skew:+.1f} s (the service's Date minus this clock; ±1 s)",
            ),
        ]
    )
    for warning in config.warnings:
        out.line(f"warning: {warning}")
    for problem in config.problems:
        out.line(f"problem: {problem}")
    if report.contract is None:
        return
    rows = [
        [
            call.operation,
            call.request,
            "-" if call.status is None else call.status,
            call.expected_status,
            call.verdict,
            call.dialect or "-",
        ]
        for call in report.contract
    ]
    out.table(
        ("Operation", "Request", "Status", "Expected", "Verdict", "Dialect"),
        rows,
        title="Contract (read calls only)",
        numeric=("Status", "Expected"),
        free_text=(),
    )
    # Below the table, not in it: findings are long, and a narrow terminal would hide them.
    for call in report.contract:
        findings = call.findings()
        if findings:
            out.line(f"{call.request} ({call.operation}):")
            for finding in findings:
                out.line(f"  - {finding}")


@cli.command(help=HELP)
@click.option(
    "--contract", is_flag=True, help="Also check your account's answers (read calls only)."
)
@global_options
def doctor(contract: bool) -> int:
    report = diagnose(contract)
    out = settings().output()
    if out.as_json:
        out.json(_as_json(report))
    else:
        _show(out, report)
    failures = report.configuration.problems + report.installation.problems
    if report.contract is not None:
        failures += [
            f"{call.operation} ({call.request}): {call.verdict}"
            for call in report.contract
            if call.verdict != "match"
        ]
    for line in failures:
        out.note(f"dtmf doctor: {line}", style=None)
    return report.exit_code
