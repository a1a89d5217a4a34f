"""Serve the emulator on a port: `python -m dtmf.testing --port 8765 --token T --balance N`.

Prints the base URL (with the real port when `--port 0`) on one line, serves
until SIGINT or SIGTERM, then exits with status 0. The clock follows the wall
clock, so rentals are billed as time passes. The control API (``POST
/_emulator/inbound`` and others, see `dtmf.testing._control`) is served too,
unless `--no-control`. `dtmf emulator` is this same command.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from types import FrameType

from . import Clock, Emulator
from ._app import bound_base_url, uvicorn_server


def _parser(prog: str, epilog: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the DTMF.io reference server.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    parser.add_argument("--token", default="test-token", help="API token of the account")
    parser.add_argument("--balance", type=int, default=10_000_000, help="balance in satoshis")
    parser.add_argument("--pool-size", type=int, default=50, help="numbers per group")
    parser.add_argument("--seed", type=int, default=None, help="seed for deterministic data")
    parser.add_argument("--log-level", default="warning", help="uvicorn's log level")
    parser.add_argument(
        "--no-control", action="store_true", help="do not serve the control API (/_emulator)"
    )
    return parser


class _Stop(Exception):
    """SIGTERM, turned into an exception so the server shuts down like on SIGINT."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop


async def _serve(emulator: Emulator, host: str, port: int, log_level: str, control: bool) -> None:
    server = uvicorn_server(
        emulator.control_app() if control else emulator.app, host, port, log_level
    )
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110 (uvicorn has no started event)
        await asyncio.sleep(0.01)
    if server.started:
        print(bound_base_url(server, host), flush=True)
    await task
    if not server.started:
        raise SystemExit(f"could not serve on {host}:{port}")


def main(
    argv: list[str] | None = None,
    *,
    prog: str = "python -m dtmf.testing",
    epilog: str | None = None,
) -> int:
    """Serve until interrupted; `prog` and `epilog` let `dtmf emulator` present it as its own."""
    args = _parser(prog, epilog).parse_args(argv)
    emulator = Emulator(seed=args.seed, pool_size=args.pool_size, clock=Clock(ticking=True))
    emulator.add_account(args.token, balance=args.balance)
    # uvicorn handles both signals itself, then re-raises them once it has shut
    # down; these handlers make that re-raise a clean exit.
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        asyncio.run(
            _serve(emulator, args.host, args.port, args.log_level, control=not args.no_control)
        )
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
