"""The `dtmf` command group: global options, the client it builds, errors as exit codes.

Subcommands live in `_commands.py` (the API), `_listen_command.py` and
`_emulator.py`; they only call `dtmf.Client` and print. Every failure ends here,
in `run()`, as one line on stderr and a documented exit code.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from .._client import Client
from .._core import check_base_url
from .._errors import (
    APIConnectionError,
    APIError,
    ConfigurationError,
    DTMFError,
    InvalidParameterError,
    MessageTimeoutError,
    RentalNotEndedError,
)
from ._output import Output

__all__ = [
    "EXIT_API",
    "EXIT_NETWORK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "CommandLineError",
    "Settings",
    "cli",
    "global_options",
    "run",
    "with_global_options",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_NETWORK = 4
EXIT_TIMEOUT = 5
EXIT_INTERRUPTED = 130

DEFAULT_API_URL = "https://dtmf.io/api/v1"

F = TypeVar("F", bound=Callable[..., Any])


class CommandLineError(Exception):
    """A problem the command line found itself, before any request: one line, 'dtmf: MESSAGE'."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Settings:
    """What the global options chose; shared by the group and its subcommands."""

    token: str | None = None
    base_url: str | None = None
    json: bool | None = None
    debug: bool = False
    allow_http: bool = False

    def output(self) -> Output:
        """JSON when asked, or by default when stdout is not a terminal."""
        as_json = self.json if self.json is not None else not sys.stdout.isatty()
        return Output(as_json)

    def client(self) -> Client:
        """A `dtmf.Client`; the token and base URL fall back to DTMF_TOKEN and DTMF_BASE_URL.

        A missing token and a plain-http base URL are refused here, with advice in
        terms of this command's options rather than the SDK's arguments.
        """
        token = self.token if self.token is not None else os.environ.get("DTMF_TOKEN")
        if not token:
            raise CommandLineError("no API token: pass --token or set DTMF_TOKEN")
        base_url = self.api_base_url()
        if base_url is not None and not self.allow_http and _plain_http_elsewhere(base_url):
            source = "--base-url" if self.base_url else "$DTMF_BASE_URL"
            raise CommandLineError(
                f"the base URL {base_url!r} (from {source}) is plain http to a host that is not "
                "this machine: the token would cross the network in clear text. Use https, or "
                "pass --allow-http if you really mean it (e.g. a reference server in another "
                "container)"
            )
        if self.debug:
            # The SDK's and httpx's own lines (requests, retries); not httpcore's byte-level trace.
            logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
            logging.getLogger("dtmf").setLevel(logging.DEBUG)
            logging.getLogger("httpx").setLevel(logging.INFO)
        return Client(token, base_url=base_url, allow_http=self.allow_http)

    def api_base_url(self) -> str | None:
        """The base URL chosen by option or environment (None: the SDK's default)."""
        return self.base_url or os.environ.get("DTMF_BASE_URL") or None


def _plain_http_elsewhere(base_url: str) -> bool:
    """Whether the SDK refuses `base_url` only for being plain http to another machine."""
    try:
        check_base_url(base_url, allow_http=True)
    except ConfigurationError:
        return False  # not a URL at all: the SDK's own message says so
    try:
        check_base_url(base_url, allow_http=False)
    except ConfigurationError:
        return True
    return False


def settings() -> Settings:
    """The settings of the running command."""
    return click.get_current_context().ensure_object(Settings)


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    # Each global option may be given before or after the subcommand; a later,
    # explicit value wins and an absent one (None, or False for a flag) changes nothing.
    flag = name in ("debug", "allow_http")

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None and not (flag and value is False):
            setattr(ctx.ensure_object(Settings), name, value)

    return callback


def with_global_options(*, default_base_url: str = DEFAULT_API_URL) -> Callable[[F], F]:
    """Add --token, --base-url, --allow-http, --json/--no-json and --debug to a command.

    `default_base_url` is what --base-url's help names as the default.
    """

    def decorate(function: F) -> F:
        options = [
            click.option(
                "--token",
                metavar="TOKEN",
                expose_value=False,
                callback=_setter("token"),
                help="API token (default: $DTMF_TOKEN). Never printed.",
            ),
            click.option(
                "--base-url",
                metavar="URL",
                expose_value=False,
                callback=_setter("base_url"),
                help=f"API base URL (default: $DTMF_BASE_URL, then {default_base_url}).",
            ),
            click.option(
                "--allow-http",
                is_flag=True,
                expose_value=False,
                callback=_setter("allow_http"),
                help="Allow a plain-http base URL on another machine (the token then crosses "
                "the network in clear text).",
            ),
            click.option(
                "--json/--no-json",
                default=None,
                expose_value=False,
                callback=_setter("json"),
                help="JSON output (default: JSON when stdout is not a terminal, tables when it "
                "is).",
            ),
            click.option(
                "--debug",
                is_flag=True,
                expose_value=False,
                callback=_setter("debug"),
                help="Show tracebacks and log HTTP requests.",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def global_options(function: F) -> F:
    """Add the global options (--token, --base-url, ...) to a command of the API."""
    return with_global_options()(function)


ROOT_HELP = """Rent phone numbers, send and receive SMS with DTMF.io.

\b
Examples:
  export DTMF_TOKEN=...                 # your API token (or pass --token)
  dtmf account                          # balance in satoshis and BTC
  dtmf groups mobile --sms --sort setup # what you can rent, cheapest first
  dtmf rent gb-mobile                   # rent a number (debits the setup cost)
  dtmf rent gb-mobile --for 10m         # ... and end the rental in 10 minutes
  dtmf code us-mobile                   # rent, print the SMS code, end the rental
  dtmf send +447700900001 +447700900123 "hello"
  dtmf wait +447700900001 --match 'code (\\d+)'
  dtmf listen +447700900001 --forward-to http://localhost:8000/hook
  dtmf release +447700900001
  dtmf rentals --end-older-than 1h      # end the rentals a script forgot
  dtmf doctor --contract                # does your account answer as the SDK expects?

\b
Try it without an account, against the bundled reference server:
  dtmf emulator --port 8765 &           # prints its base URL; token 'test-token'
  export DTMF_TOKEN=test-token DTMF_BASE_URL=http://127.0.0.1:8765/api/v1
  dtmf groups mobile

\b
Output: tables when stdout is a terminal, the documented JSON shapes when it
is not (pipes, files); --json / --no-json choose. Times for people are in this
machine's time zone, with its name (2026-11-25 23:35:16 CET); times in JSON
are UTC, written as the service documents them: no offset
(2026-11-25T22:35:16.082160).

\b
Exit codes:
  0    success
  1    unexpected failure (run again with --debug)
  2    usage error: a bad option or value, a missing token (nothing was sent)
  3    the API refused (bad token, no funds, unknown number, ...)
  4    network error: the API could not be reached or did not answer in time
  5    `dtmf wait` or `dtmf code` timed out
  130  interrupted (Ctrl-C); but `dtmf listen` and `dtmf emulator` run until
       stopped, and exit 0 when stopped with Ctrl-C or SIGTERM

\b
Shell completion (bash, zsh, fish):
  eval "$(_DTMF_COMPLETE=bash_source dtmf)"   # in ~/.bashrc
  eval "$(_DTMF_COMPLETE=zsh_source dtmf)"    # in ~/.zshrc
  _DTMF_COMPLETE=fish_source dtmf > ~/.config/fish/completions/dtmf.fish
"""


@click.group(help=ROOT_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dtmf-io", prog_name="dtmf")
@global_options
def cli() -> None:
    """The root command group."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _hint(exc: BaseException) -> str:
    """What to do, when the SDK's message does not already say it for a command-line user."""
    if isinstance(exc, APIConnectionError):
        return " (the base URL comes from --base-url or $DTMF_BASE_URL)"
    if isinstance(exc, ConfigurationError) and str(exc).startswith(
        ("the API token", "no API token")
    ):
        return " (pass --token or set DTMF_TOKEN)"
    return ""


def exit_code(exc: BaseException) -> int:
    """The documented exit code for an error."""
    if isinstance(exc, (InvalidParameterError, ConfigurationError)):
        return EXIT_USAGE
    if isinstance(exc, APIConnectionError):  # includes timeouts
        return EXIT_NETWORK
    if isinstance(exc, APIError):
        return EXIT_API
    if isinstance(exc, RentalNotEndedError):  # as what ending it failed with
        return exit_code(exc.end_error)
    if isinstance(exc, MessageTimeoutError):
        return EXIT_TIMEOUT
    return EXIT_FAILURE


def _fail(prefix: str, message: str, code: int, exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    click.echo(f"{prefix}: {_one_line(message)}", err=True)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); returns the exit code."""
    # Imported for their side effect: they register the subcommands on `cli`.
    from . import _commands, _doctor, _emulator, _listen_command, _rentals  # noqa: F401  # pyright: ignore[reportUnusedImport]

    state = Settings()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args, prog_name="dtmf", standalone_mode=False, obj=state)
    except click.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `dtmf` (click >= 8.2): the help
            exc.show()
            return EXIT_OK
        where = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else "dtmf"
        hint = f" (see '{where} --help')" if isinstance(exc, click.UsageError) else ""
        return _fail(f"{where}: error", exc.format_message() + hint, exc.exit_code, exc, False)
    except CommandLineError as exc:
        return _fail("dtmf", str(exc), exc.exit_code, exc, state.debug)
    except click.Abort as exc:  # Ctrl-C, turned into Abort by click
        return _fail("dtmf", "interrupted", EXIT_INTERRUPTED, exc, state.debug)
    except KeyboardInterrupt as exc:
        return _fail("dtmf", "interrupted", EXIT_INTERRUPTED, exc, state.debug)
    except DTMFError as exc:
        return _fail("dtmf: error", f"{exc}{_hint(exc)}", exit_code(exc), exc, state.debug)
    except BrokenPipeError:
        # `dtmf numbers | head`: the reader left; say nothing more.
        sys.stderr.close()
        return EXIT_FAILURE
    except Exception as exc:
        message = f"unexpected {type(exc).__name__}: {exc} (run again with --debug for details)"
        return _fail("dtmf: error", message, EXIT_FAILURE, exc, state.debug)
    return result if isinstance(result, int) else EXIT_OK
