"""The `dtmf listen` command: runs a `_listen.Listener` and prints one line per event."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from types import FrameType

import click

from .._errors import DTMFError
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
    """SIGTERM or Ctrl-C, when nothing is in flight (or asked a second time)."""


def _stopper(listener: Listener) -> Callable[[int, FrameType | None], None]:
    """The SIGTERM and SIGINT handler: stop now, or once the delivery in flight is done.

    Interrupting a delivery would leave its fate unknown (the app may have handled
    it, its reply may be on its way); a second signal stops at once anyway.
    """

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if listener.stop_requested or not listener.request_stop():
            raise _Stop
        # RuntimeError: stderr was being written when the signal came.
        with contextlib.suppress(RuntimeError):
            sys.stderr.write("Stopping once the delivery in flight is done (again: stop now).\n")

    return on_signal


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
    before `listen` started are not delivered; any that arrive while the
    service cannot be polled are delivered once it can. It runs until stopped,
    and exits 0 when stopped with Ctrl-C or SIGTERM: a delivery in flight is
    finished first (a second Ctrl-C stops at once). The summary on exit says
    what became of each message, and lists those not delivered with how to
    fetch them. The URL's last path segment and query values (where a secret
    goes) are shown as ***.

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
        # What exists now is the starting point: whatever arrives later is delivered,
        # even if the first polls fail.
        listener = Listener(
            client,
            e164,
            forward_to,
            _printer(out),
            poll_interval=poll_interval,
            baseline=number.messages,
        )
        action, destination = number.sms_action
        out.note(f"Listening for SMS to {e164}, delivering to {listener.shown_url}. Ctrl-C stops.")
        if action is not None:
            out.note(f"Note: the service also applies the number's action: {action} {destination}.")
        stopper = _stopper(listener)
        previous = signal.signal(signal.SIGTERM, stopper), signal.signal(signal.SIGINT, stopper)
        failure: DTMFError | None = None
        try:
            listener.run()
        except (KeyboardInterrupt, _Stop):
            pass
        except DTMFError as exc:  # a fatal API error: the summary first, then the error
            failure = exc
        checked: str | None = None if failure is None else str(failure)
        try:
            if failure is None:
                listener.final_poll()
        except DTMFError as exc:
            checked = str(exc)
        except (KeyboardInterrupt, _Stop):
            checked = "interrupted"
        finally:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])
    for line in _summary(e164, listener, last_check=checked):
        out.note(line, style=None)
    if failure is not None:
        raise failure


def _summary(e164: str, listener: Listener, last_check: str | None = None) -> list[str]:
    """The summary: the totals, each message's fate, and how to fetch what was not delivered.

    `last_check` is why the last look for new messages could not be made, if it failed.
    """
    fates = listener.fates()
    summary = (
        f"Stopped listening to {e164}: {listener.delivered} delivered, "
        f"{listener.replies} repl{'y' if listener.replies == 1 else 'ies'} sent"
    )
    for state, label in (("in flight", "cut short"), ("not delivered", "not delivered")):
        some = [f for f in fates if f.state == state]
        if some:
            ids = ", ".join(str(f.sms.id) for f in some)
            summary += f", {len(some)} {label} (message id{'s' if len(some) > 1 else ''} {ids})"
    lost = [f for f in fates if f.state != "delivered"]
    lines = [summary + "."]
    lines += [f"  {f.sms.id} from {f.sms.sender or '-'}: {f.state}: {f.detail}" for f in fates]
    if last_check is not None:
        lines.append(
            f"Could not check for messages that arrived after the last poll ({last_check}); "
            "any there were not delivered."
        )
    if lost or last_check is not None:
        lines.append(
            f"Messages not delivered are kept by the service: see them with "
            f"'dtmf numbers show {e164}' (--json for the full list)."
        )
    return lines
