"""`dtmf emulator`: serve the reference server, and `dtmf emulator inbound` to drive it.

Serving is `python -m dtmf.testing` itself (its options and help, under this
name). `inbound` calls the served server's control API (`dtmf.testing._control`).
"""

from __future__ import annotations

from typing import cast

import click
import httpx

from ._app import EXIT_API, EXIT_NETWORK, EXIT_USAGE, cli, settings, with_global_options

__all__: list[str] = []

DEFAULT_EMULATOR_URL = "http://127.0.0.1:8765/api/v1"

SERVE_EPILOG = """\
The reference server keeps everything in memory; its account starts with
--balance satoshis and is known by --token. It prints its base URL, then serves
until stopped. It also serves a control API under /_emulator (unless
--no-control), without a token, for tests in any language:

  POST /_emulator/inbound        {"to": E164, "sender": E164, "content": TEXT}
  POST /_emulator/clock/advance  {"seconds": N}   (or "minutes", "hours")
  POST /_emulator/credit         {"token": T, "satoshis": N}

examples:
  dtmf emulator                          # http://127.0.0.1:8765/api/v1, token test-token
  dtmf emulator --port 0 --balance 500000
  export DTMF_TOKEN=test-token DTMF_BASE_URL=http://127.0.0.1:8765/api/v1
  dtmf emulator inbound +447700900001 --from +447700900123 --text "code 123456"
  curl -X POST http://127.0.0.1:8765/_emulator/inbound \\
       -d '{"to": "+447700900001", "sender": "+447700900123", "content": "hi"}'

Run 'dtmf emulator inbound --help' for making it receive an SMS.
"""


@cli.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
    },
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def emulator(ctx: click.Context, args: tuple[str, ...]) -> int:
    """Serve the reference server on a port (see 'dtmf emulator --help').

    'dtmf emulator inbound E164 --from SENDER --text TEXT' makes a served one
    receive an SMS.
    """
    if args and args[0] == "inbound":
        inbound.main(
            list(args[1:]),
            prog_name="dtmf emulator inbound",
            standalone_mode=False,
            obj=settings(),
        )
        return 0
    try:
        from ..testing.__main__ import main as serve
    except ImportError as exc:
        raise click.ClickException(
            f"the reference server needs {exc.name}: pip install 'dtmf-io[cli]'"
        ) from None
    return serve(
        list(args),
        prog="dtmf emulator",
        epilog=SERVE_EPILOG,
        name="dtmf",
        package="dtmf-io[cli]",
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("e164")
@click.option("--from", "sender", required=True, metavar="E164", help="The sender's number.")
@click.option("--text", required=True, help="The SMS text.")
@click.option(
    "--control-token",
    envvar="DTMF_EMULATOR_CONTROL_TOKEN",
    metavar="TOKEN",
    help="The emulator's --control-token, if it has one ($DTMF_EMULATOR_CONTROL_TOKEN).",
)
@with_global_options(default_base_url=DEFAULT_EMULATOR_URL)
def inbound(e164: str, sender: str, text: str, control_token: str | None) -> None:
    """Make a served reference server receive an SMS on a number you rent there.

    The number applies its SMS action as the service would (forward, or a
    webhook POST whose answer is sent back). The server is found with
    --base-url or $DTMF_BASE_URL (default: http://127.0.0.1:8765/api/v1).

    \b
    Examples:
      dtmf emulator inbound +447700900001 --from +447700900123 --text "code 123456"
      dtmf emulator inbound +447700900001 --from +447700900123 --text hi --json
    """
    from ..testing._control import ControlError
    from ..testing._control import inbound as send_inbound

    base_url = settings().api_base_url() or DEFAULT_EMULATOR_URL
    try:
        answer = send_inbound(base_url, e164, sender, text, control_token=control_token)
    except ControlError as exc:
        code = EXIT_USAGE if exc.status == 400 else EXIT_API
        raise _failure(f"the emulator refused: {exc.message}", code) from None
    except httpx.HTTPError as exc:
        raise _failure(
            f"could not reach the emulator at {base_url} ({type(exc).__name__}: {exc}); "
            "is 'dtmf emulator' running there? (set --base-url or $DTMF_BASE_URL)",
            EXIT_NETWORK,
        ) from None
    out = settings().output()
    if out.as_json:
        out.json(answer)
        return
    message: object = answer.get("message")
    message_id = cast("dict[str, object]", message).get("id") if isinstance(message, dict) else None
    out.line(f"{e164} received message {message_id} from {sender}.")
    webhook: object = answer.get("webhook")
    if isinstance(webhook, dict):
        fields = cast("dict[str, object]", webhook)
        status = fields.get("status") or fields.get("error")
        reply = fields.get("reply")
        shown = f"; replied {reply!r}" if reply else "; no reply"
        out.line(f"Webhook {fields.get('url')} answered {status}{shown}.")


def _failure(message: str, exit_code: int) -> click.ClickException:
    """A failure with its own exit code, shown as one line."""
    failure = click.ClickException(message)
    failure.exit_code = exit_code  # type: ignore[misc]  # click documents overriding it
    return failure
