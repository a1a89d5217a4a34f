"""Serve the emulator on a port: `python -m dtmf.testing --port 8765 --token T --balance N`.

Prints the base URL (with the real port when `--port 0`) on one line, serves
until SIGINT or SIGTERM, then exits with status 0. The clock follows the wall
clock, so rentals are billed as time passes. The control API (``POST
/_emulator/inbound`` and others, see `dtmf.testing._control`) is served too,
unless `--no-control`. `dtmf emulator` is this same command.

`python -m dtmf.testing --openapi FILE` writes the API's OpenAPI description
(the document the server answers at ``GET /api/v1/openapi.json``) to FILE, or to
stdout for '-', and exits without serving.

It serves loopback only unless `--allow-remote` (then with a warning on
stderr): its accounts and control API need no password. `--control-token`
makes the control API require ``Authorization: Bearer <token>``.

Every failure is one line on stderr: a bad option or a port that cannot be
served exits 2, a missing uvicorn exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import logging
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

from . import Clock, Emulator
from ._serving import bound_base_url, is_loopback, remote_warning, uvicorn_server

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

DESCRIPTION = """\
Serve the DTMF.io reference server (an in-memory emulator of the API) on a
port. The emulator exits 0 when stopped with Ctrl-C or SIGTERM, 2 when it
cannot serve (a bad option, a port in use).
"""


class _UsageError(Exception):
    """A bad option or value (argparse's message)."""


class _CannotServe(Exception):
    """The server could not start; the message says why, in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _at_least(minimum: int, what: str) -> Callable[[str], int]:
    def convert(text: str) -> int:
        value = _whole(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, not {value}")
        return value

    return convert


def _port(text: str) -> int:
    value = _whole(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535 (0 = any free port), not {value}")
    return value


def _token(text: str) -> str:
    # What a client can send in an Authorization header (as the SDK checks).
    if not text or not text.isascii() or not text.isprintable() or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError("must be a single printable ASCII word")
    return text


def _parser(prog: str, epilog: str | None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description=DESCRIPTION,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=_port, default=8765, help="port; 0 = any free port (default: 8765)"
    )
    parser.add_argument(
        "--token",
        type=_token,
        default="test-token",
        help="API token of the account (default: test-token)",
    )
    parser.add_argument(
        "--balance",
        type=_at_least(0, "0 or more satoshis"),
        default=10_000_000,
        metavar="SATOSHIS",
        help="the account's balance (default: 10000000, i.e. 0.1 BTC)",
    )
    parser.add_argument(
        "--pool-size",
        type=_at_least(1, "1 or more"),
        default=50,
        metavar="N",
        help="numbers each group can rent out (default: 50)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed for deterministic data (default: random)"
    )
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        default="warning",
        metavar="LEVEL",
        help=f"uvicorn's log level: {', '.join(LOG_LEVELS)} (default: warning)",
    )
    parser.add_argument(
        "--no-control", action="store_true", help="do not serve the control API (/_emulator)"
    )
    parser.add_argument(
        "--openapi",
        metavar="FILE",
        help="write the API's OpenAPI description (JSON) to FILE ('-': stdout), then exit",
    )
    parser.add_argument(
        "--control-token",
        type=_token,
        default=None,
        metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on the control API (default: none)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other machines can reach (the emulator has no real security)",
    )
    return parser


def _write_openapi(target: str) -> None:
    from ._openapi import openapi_json

    document = openapi_json()
    if target == "-":
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
        return
    with open(target, "wb") as file:
        file.write(document)


class _Stop(Exception):
    """SIGTERM, turned into an exception so the server shuts down like on SIGINT."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop


class _HideBindErrors(logging.Filter):
    """Keeps uvicorn's own line about a failed bind out of the log: main() says it better."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not isinstance(record.msg, OSError)


_HIDE_BIND_ERRORS = _HideBindErrors()


def _why(error: BaseException | None, host: str, port: int) -> str:
    """One line on why `host`:`port` could not be served, and what to do."""
    if not isinstance(error, OSError):
        return f"could not serve on {host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use; pick another with --port (0 = any free port)"
    if error.errno == errno.EACCES:
        return (
            f"not allowed to listen on port {port} on {host}; pick another with --port "
            "(0 = any free port)"
        )
    if isinstance(error, socket.gaierror):
        return (
            f"cannot listen on {host!r}: no such host ({error.strerror}); pick another with --host"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {host!r}: not an address of this machine; pick another with --host"
        )
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


async def _until_stopped(server: Any, host: str, port: int) -> None:
    try:
        await server.serve()
    except SystemExit as exc:
        # uvicorn exits when it cannot start, from inside the `except OSError` of its bind.
        raise _CannotServe(_why(exc.__context__, host, port)) from None


async def _serve(
    emulator: Emulator, host: str, port: int, log_level: str, control: bool, token: str | None
) -> None:
    server = uvicorn_server(
        emulator.control_app(token) if control else emulator.app, host, port, log_level
    )
    logging.getLogger("uvicorn.error").addFilter(_HIDE_BIND_ERRORS)
    task = asyncio.create_task(_until_stopped(server, host, port))
    while not server.started and not task.done():  # noqa: ASYNC110 (uvicorn has no started event)
        await asyncio.sleep(0.01)
    if server.started:
        print(bound_base_url(server, host), flush=True)
    await task
    if not server.started:
        raise _CannotServe(f"could not serve on {host}:{port}")


def main(
    argv: list[str] | None = None,
    *,
    prog: str = "python -m dtmf.testing",
    epilog: str | None = None,
    name: str | None = None,
    package: str = "dtmf-io[testing]",
) -> int:
    """Serve until stopped; returns the exit code (0 when stopped by SIGINT or SIGTERM).

    `prog` and `epilog` let `dtmf emulator` present it as its own; `name` starts its
    error lines (default: `prog`) and `package` is what to install for uvicorn.
    """
    try:
        args = _parser(prog, epilog).parse_args(argv)
    except _UsageError as exc:
        print(f"{prog}: error: {exc} (see '{prog} --help')", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.openapi is not None:
        try:
            _write_openapi(args.openapi)
        except OSError as exc:
            print(f"{name or prog}: cannot write {args.openapi}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        return EXIT_OK
    if not is_loopback(args.host):
        if not args.allow_remote:
            print(
                f"{prog}: error: --host {args.host} can be reached from other machines, and "
                "the emulator has no real security; serve on 127.0.0.1, or pass --allow-remote "
                f"(see '{prog} --help')",
                file=sys.stderr,
            )
            return EXIT_USAGE
        print(f"{name or prog}: warning: {remote_warning(args.host)}", file=sys.stderr)
    try:
        importlib.import_module("uvicorn")
    except ImportError:
        print(f"{prog} needs uvicorn: pip install '{package}'", file=sys.stderr)
        return EXIT_FAILURE
    emulator = Emulator(seed=args.seed, pool_size=args.pool_size, clock=Clock(ticking=True))
    emulator.add_account(args.token, balance=args.balance)
    # uvicorn handles both signals itself, then re-raises them once it has shut
    # down; these handlers make that re-raise a clean exit.
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        asyncio.run(
            _serve(
                emulator,
                args.host,
                args.port,
                args.log_level,
                control=not args.no_control,
                token=args.control_token,
            )
        )
    except (KeyboardInterrupt, _Stop):
        pass
    except _CannotServe as exc:
        print(f"{name or prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        signal.signal(signal.SIGTERM, previous)
        emulator.close()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
