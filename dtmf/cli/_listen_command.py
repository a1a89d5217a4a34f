"""The `dtmf listen` command: runs a `_listen.Listener` and prints one line per event."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import datetime
from types import FrameType

import click

from .._validate import check_e164, check_webhook_url
from ._app import cli, global_options, settings
from ._listen import Delivered, Event, Listener, PollFailed, Retrying
from ._output import Output, json_time, local_time

__all__: list[str] = []


def _stamp(moment: datetime) -> str:
    return local_time(moment, date=False)


# Answers that mean the POST did not reach the handler: the URL's path or secret is wrong.
WRONG_URL_STATUSES = frozenset({404, 405})


def _printer(out: Output) -> Callable[[Event], None]:
    def show(event: Event) -> None:
        if isinstance(event, Delivered):
            sms = event.sms
            if out.as_json:
                out.json(
                    {
                        "time": json_time(event.at),
                        "id": sms.id,
                        "sender": sms.sender,
                        "content": sms.content,
                        "status": event.status,
                        "reply": event.reply,
                        "error": event.error,
                        "attempts": event.attempts,
                    },
                    lines=True,
                )
                return
            status = "-" if event.status is None else str(event.status)
            outcome = f"reply {event.reply!r}" if event.reply is not None else "no reply"
            if event.error is not None:
                outcome = event.error
            if event.status in WRONG_URL_STATUSES:
                outcome += "; check the --forward-to URL (path, secret)"
            out.line(f"{_stamp(event.at)}  {sms.sender}  {status}  {outcome}")
        elif isinstance(event, Retrying):
            out.note(
                f"{_stamp(event.at)}  {event.sms.sender}  {event.error}; "
                f"retrying in {event.delay:.1f} s (attempt {event.attempts})",
                style="yellow",
            )
        elif isinstance(event, PollFailed):  # pyright: ignore[reportUnnecessaryIsInstance]
            out.note(
                f"{_stamp(event.at)}  could not check for messages ({event.error}); "
                f"trying again in {event.delay:.1f} s",
                style="yellow",
            )

    return show


class _Stop(Exception):
    """SIGTERM, so a service manager's stop ends listening like Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop


@cli.command()
@click.argument("e164")
@click.option(
    "--forward-to",
    required=True,
    metavar="URL",
    help="Your local webhook, e.g. http://localhost:8000/hook.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.01),
    default=1.0,
    hidden=True,
    help="First pause between polls, in seconds (for tests).",
)
@global_options
def listen(e164: str, forward_to: str, poll_interval: float) -> None:
    """Deliver a number's inbound SMS to a webhook on this machine.

    For local development, where the service cannot reach your laptop: new
    inbound SMS are fetched (polling) and POSTed to URL as the service would,
    as JSON {"id", "e164", "sender", "content"}; a non-empty 2xx answer is
    sent back to the sender as an SMS (ASCII, at most 160 characters).

    One line per delivery on stdout: time, sender, HTTP status, reply (JSON
    lines with --json). If your app is down (no connection, or HTTP 502, 503
    or 504), the message is retried with backoff; any other answer counts as
    delivered (a 404 or 405 usually means a wrong --forward-to path or
    secret). Each message is delivered once, in order. Messages that arrived
    before `listen` started are not delivered. It runs until stopped, and
    exits 0 when stopped with Ctrl-C or SIGTERM.

    \b
    Examples:
      dtmf listen +447700900001 --forward-to http://localhost:8000/hook
      dtmf listen +447700900001 --forward-to http://127.0.0.1:5000/sms --json
    """
    check_e164(e164)
    check_webhook_url(forward_to, "--forward-to")
    out = settings().output()
    with settings().client() as client:
        number = client.numbers.get(e164)  # fails early for a number you do not rent
        listener = Listener(client, e164, forward_to, _printer(out), poll_interval=poll_interval)
        action, destination = number.sms_action
        out.note(f"Listening for SMS to {e164}, delivering to {forward_to}. Ctrl-C stops.")
        if action is not None:
            out.note(f"Note: the service also applies the number's action: {action} {destination}.")
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            listener.run()
        except (KeyboardInterrupt, _Stop):
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    out.note(_summary(e164, listener), style=None)


def _summary(e164: str, listener: Listener) -> str:
    """The last line: what was delivered, and the ids of what was not."""
    pending = listener.outbox.pending()
    summary = (
        f"Stopped listening to {e164}: {listener.delivered} delivered, "
        f"{listener.replies} repl{'y' if listener.replies == 1 else 'ies'} sent"
    )
    if pending:
        ids = ", ".join(str(sms.id) for sms in pending)
        label = "message id" if len(pending) == 1 else "message ids"
        summary += f", {len(pending)} not delivered ({label} {ids})"
    return summary + "."
