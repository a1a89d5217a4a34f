"""The subcommands that map onto one SDK call each: account, addresses, groups, numbers,
rent, release, sms-action, send and wait.

Each builds a `dtmf.Client` from the global options, makes the call and prints the
result; input is checked by the SDK (before any request) or by click.
"""

from __future__ import annotations

import contextlib
import math
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import click

from .._client import Client
from .._documented import account_dict, address_dict, group_dict, number_dict
from .._errors import APIError, InvalidParameterError
from .._models import Group
from .._reconcile import SendNotFoundError
from .._validate import MAX_SMS_LENGTH, SmsActionName, check_content, render_sms
from ._app import EXIT_INTERRUPTED, CommandLineError, cli, exit_code, global_options, settings
from ._output import (
    GROUP_COLUMNS,
    MESSAGE_COLUMNS,
    NUMBER_COLUMNS,
    Output,
    btc,
    describe_action,
    group_rows,
    local_time,
    message_row,
    message_rows,
    number_rows,
    satoshis,
)
from ._scoped import duration_option, rent_for

__all__: list[str] = []


@cli.command()
@global_options
def account() -> None:
    """Show your balance, in satoshis and BTC.

    \b
    Examples:
      dtmf account
      dtmf account --json          # {"balance": 1234567}
    """
    with settings().client() as client:
        result = client.account.get()
    out = settings().output()
    if out.as_json:
        out.json(account_dict(result))
    else:
        out.line(f"Balance: {satoshis(result.balance)} satoshis ({btc(result.balance)} BTC)")


@cli.command()
@click.option("--new", "new", is_flag=True, help="Generate a new deposit address.")
@global_options
def addresses(new: bool) -> None:
    """List your Bitcoin deposit addresses, or make a new one with --new.

    Paying any of them adds funds to your account.

    \b
    Examples:
      dtmf addresses
      dtmf addresses --new
    """
    out = settings().output()
    with settings().client() as client:
        if new:
            created = client.addresses.create()
            if out.as_json:
                out.json(address_dict(created))
            else:
                out.line(created.address)
            return
        found = client.addresses.list()
    if out.as_json:
        out.json([address_dict(a) for a in found])
    elif not found:
        out.note("No deposit addresses; make one with: dtmf addresses --new", style=None)
    else:
        out.table(("Address",), [[a.address] for a in found])


_SORT_KEYS: dict[str, Callable[[Group], tuple[object, str]]] = {
    "setup": lambda g: (g.setup_cost, g.id),
    "rental": lambda g: (g.rental_cost_per_minute, g.id),
    "inbound": lambda g: (g.cost_per_inbound_message or 0, g.id),
    "country": lambda g: (g.country_code, g.id),
    "name": lambda g: (g.name, g.id),
}


@cli.command()
@click.argument("group_type", metavar="mobile|local", type=click.Choice(["mobile", "local"]))
@click.option(
    "--sort",
    type=click.Choice(sorted(_SORT_KEYS)),
    help="Sort by a cost (setup, rental per minute, inbound SMS) or by country or name.",
)
@click.option("--reverse", is_flag=True, help="Reverse the order.")
@click.option(
    "--country",
    "countries",
    multiple=True,
    metavar="CC",
    help="Only groups of this country code (e.g. gb); repeat for several.",
)
@click.option("--sms/--no-sms", default=None, help="Only groups that support SMS (or that do not).")
@global_options
def groups(
    group_type: str, sort: str | None, reverse: bool, countries: tuple[str, ...], sms: bool | None
) -> None:
    """List the groups of numbers you can rent, with their costs in satoshis.

    \b
    Examples:
      dtmf groups mobile
      dtmf groups mobile --sms --sort setup           # cheapest to rent first
      dtmf groups local --country gb --country us --sort rental
    """
    with settings().client() as client:
        found = client.groups.list("mobile" if group_type == "mobile" else "local")
    wanted = {c.lower() for c in countries}
    found = [
        g
        for g in found
        if (not wanted or g.country_code.lower() in wanted)
        and (sms is None or g.sms_support == sms)
    ]
    if sort is not None:
        found.sort(key=_SORT_KEYS[sort])
    if reverse:
        found.reverse()
    out = settings().output()
    if out.as_json:
        out.json([group_dict(g) for g in found])
    elif not found:
        out.note("No groups match.", style=None)
    else:
        out.table(GROUP_COLUMNS, group_rows(found), title="Costs in satoshis")


@cli.group(invoke_without_command=True)
@global_options
@click.pass_context
def numbers(ctx: click.Context) -> None:
    """List the numbers you rent; `numbers show E164` shows one with its messages.

    \b
    Examples:
      dtmf numbers
      dtmf numbers show +447700900001
      dtmf numbers --json | jq -r '.[].e164'
    """
    if ctx.invoked_subcommand is not None:
        return
    with settings().client() as client:
        found = client.numbers.list()
    out = settings().output()
    if out.as_json:
        out.json([number_dict(n) for n in found])
    elif not found:
        out.note("You rent no numbers; see `dtmf groups mobile` and `dtmf rent`.", style=None)
    else:
        out.table(NUMBER_COLUMNS, number_rows(found))


@numbers.command("show")
@click.argument("e164")
@global_options
def numbers_show(e164: str) -> None:
    """Show a number you rent: its settings, costs and message history.

    \b
    Examples:
      dtmf numbers show +447700900001
      dtmf numbers show +447700900001 --json
    """
    with settings().client() as client:
        number = client.numbers.get(e164)
    out = settings().output()
    if out.as_json:
        out.json(number_dict(number))
        return
    out.fields(
        [
            ("Number", number.e164),
            ("Group", number.group_id),
            ("SMS", "-" if number.sms is None else ("yes" if number.sms else "no")),
            ("SMS action", describe_action(number)),
            ("Rented since", local_time(number.assignment_start)),
            ("Per minute", f"{satoshis(number.cost_per_minute)} satoshis"),
            ("Per SMS in", f"{satoshis(number.cost_per_inbound_message)} satoshis"),
        ]
    )
    if number.messages:
        out.table(MESSAGE_COLUMNS, message_rows(number), title="Messages")
    else:
        out.line("No messages.")


@cli.command()
@click.argument("group_id")
@click.option(
    "--for",
    "lasting",
    metavar="DURATION",
    callback=duration_option,
    help="Keep the number this long (e.g. 90s, 10m, 1h30m, 2d), then end the rental; "
    "Ctrl-C ends it sooner.",
)
@global_options
def rent(group_id: str, lasting: timedelta | None) -> None:
    """Rent a number from a group (debits the group's setup cost).

    GROUP_ID is the id `dtmf groups` lists, e.g. gb-mobile. The rental is billed
    per minute until you release the number; with --for, the command stays until
    the time is up (or Ctrl-C) and then ends the rental itself.

    \b
    Examples:
      dtmf rent gb-mobile
      dtmf rent gb-mobile --for 10m      # prints the number, ends it in 10 minutes
      NUMBER=$(dtmf rent gb-mobile --json | jq -r .e164)
    """
    if lasting is not None:
        rent_for(group_id, lasting)
        return
    with settings().client() as client:
        number = client.numbers.rent(group_id)
    out = settings().output()
    if out.as_json:
        out.json(number_dict(number))
    else:
        out.line(number.e164)
        out.note(
            f"Rented {number.e164} from {number.group_id} "
            f"({satoshis(number.cost_per_minute)} satoshis per minute). "
            f"Release it with: dtmf release {number.e164}"
        )


@cli.command()
@click.argument("e164")
@global_options
def release(e164: str) -> None:
    """End the rental of a number: billing stops and the number is released.

    \b
    Examples:
      dtmf release +447700900001
    """
    with settings().client() as client:
        client.numbers.end_rental(e164)
    out = settings().output()
    if out.as_json:
        out.json({"e164": e164, "released": True})
    else:
        out.line(f"Released {e164}.")


@cli.command("sms-action")
@click.argument("e164")
@click.argument("action", type=click.Choice(["forward", "webhook", "none"]))
@click.argument("destination", required=False)
@global_options
def sms_action(e164: str, action: str, destination: str | None) -> None:
    """Choose what a number does with the SMS it receives.

    \b
    forward DEST  forward each SMS to the E.164 number DEST
    webhook URL   POST each SMS as JSON to URL; a non-empty 2xx answer is
                  sent back to the sender
    none          only store them (see `dtmf numbers show`)

    \b
    Examples:
      dtmf sms-action +447700900001 forward +447700900123
      dtmf sms-action +447700900001 webhook https://example.org/hook
      dtmf sms-action +447700900001 none
    """
    if action == "none":
        if destination is not None:
            raise click.UsageError("'none' takes no destination")
        chosen: SmsActionName | None = None
        target: str | None = None
    elif destination is None:
        what = "an E.164 number" if action == "forward" else "a URL"
        raise click.UsageError(f"'{action}' needs a destination: {what}")
    else:
        chosen = "forward" if action == "forward" else "webhook"
        target = destination
    with settings().client() as client:
        client.numbers.set_sms_action(e164, chosen, target)
    out = settings().output()
    if out.as_json:
        out.json({"e164": e164, "action": chosen, "destination": target})
    elif chosen == "forward":
        out.line(f"{e164} now forwards inbound SMS to {target}.")
    elif chosen == "webhook":
        out.line(f"{e164} now POSTs inbound SMS to {target}.")
    else:
        out.line(f"{e164} now only stores inbound SMS.")


@cli.command()
@click.argument("from_e164", metavar="FROM")
@click.argument("to_e164", metavar="TO")
@click.argument("text")
@click.option("--dry-run", is_flag=True, help="Only show the rendering; send nothing.")
@click.option(
    "--check",
    is_flag=True,
    help="If the send fails with no answer, look for it in FROM's message history: it was "
    "sent, or it was not (then it is safe to send once more).",
)
@global_options
def send(from_e164: str, to_e164: str, text: str, dry_run: bool, check: bool) -> None:
    """Send an SMS from a number you rent. TEXT '-' reads it from stdin.

    The SMS is sent as ASCII ('Zürich' becomes 'Zurich'); the rendering is shown,
    and text whose rendering is over 160 characters is refused (exit code 2)
    before anything is sent.

    \b
    Examples:
      dtmf send +447700900001 +447700900123 "Your table is ready"
      dtmf send +447700900001 +447700900123 "Grüße aus Zürich" --dry-run
      echo "hello" | dtmf send +447700900001 +447700900123 -
      dtmf send +447700900001 +447700900123 "Your code is 1234" --check
    """
    if text == "-":
        text = sys.stdin.read().rstrip("\n")
    try:
        # The SDK's own check (the one messages.send makes), before any request;
        # also for --dry-run, which sends nothing.
        check_content(text)
    except InvalidParameterError as exc:
        # The SDK's problem ends with a Python hint; a shell user gets a shell one.
        problem = exc.problem.split(";")[0]
        over = len(render_sms(text)) - MAX_SMS_LENGTH
        advice = f"; shorten it by {over}" if over > 0 else ""
        raise click.BadParameter(
            f"{problem}{advice} (nothing was sent; --dry-run shows the rendering)",
            param_hint="TEXT",
        ) from None
    rendered = render_sms(text)
    out = settings().output()
    if not dry_run:
        with settings().client() as client:
            try:
                _send(client, from_e164, to_e164, text, check=check, out=out)
            except KeyboardInterrupt:
                # The request may have left: the service may act on it (a send is never
                # retried, so it is not sent twice either way).
                raise CommandLineError(
                    f"interrupted while sending: the SMS to {to_e164} may or may not have been "
                    f"sent; check with: dtmf numbers show {from_e164}",
                    EXIT_INTERRUPTED,
                ) from None
    if out.as_json:
        result = {"from": from_e164, "to": to_e164, "content": rendered, "length": len(rendered)}
        out.json(result | {"sent": not dry_run})
        return
    if rendered != text:
        out.note(f"Rendered to ASCII: {rendered}", style=None)
    verb = "Would send" if dry_run else "Sent"
    out.line(f"{verb} {len(rendered)}/{MAX_SMS_LENGTH} characters from {from_e164} to {to_e164}.")


def _send(
    client: Client, from_e164: str, to_e164: str, text: str, *, check: bool, out: Output
) -> None:
    """Send; with `check`, a send that may or may not have gone out is looked up."""
    sent_after = datetime.now(timezone.utc)
    try:
        client.messages.send(from_e164, to_e164, text)
    except APIError as exc:
        if not (check and exc.may_have_succeeded):
            raise
        out.note(f"The send failed with no clear answer ({exc}); checking the history...")
        try:
            client.messages.reconcile_send(from_e164, to_e164, text, sent_after=sent_after)
        except SendNotFoundError as missing:
            # The original failure's exit code: the SMS was not sent, like any refusal.
            raise CommandLineError(str(missing), exit_code(exc)) from None
        out.note(f"It is in {from_e164}'s history: the SMS was sent.", style=None)


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):  # nan passes FloatRange's comparisons; it would never end
        raise click.BadParameter(f"{value} is not a number of seconds")
    return value


def _regex(ctx: click.Context, param: click.Parameter, value: str | None) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        raise click.BadParameter(f"{value!r} is not a regular expression: {exc}") from None


@cli.command()
@click.argument("e164")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    callback=_finite,
    default=60.0,
    show_default=True,
    help="Seconds to wait before giving up (exit code 5).",
)
@click.option(
    "--match",
    "pattern",
    metavar="REGEX",
    callback=_regex,
    help="Only an SMS whose text matches; its first (group) is printed as the code.",
)
@global_options
def wait(e164: str, timeout: float, pattern: re.Pattern[str] | None) -> None:
    """Wait for the next SMS to a number you rent, and print it.

    Only an SMS that arrives after the command starts counts: start it before
    you trigger the SMS. With --match, stdout gets the captured code (or the
    whole match); otherwise the message text. Details go to stderr.

    \b
    Examples:
      dtmf wait +447700900001
      CODE=$(dtmf wait +447700900001 --no-json --match 'code:? (\\d{4,8})' --timeout 120)
      dtmf wait +447700900001 --match 'G-\\d+' --json
    """
    out = settings().output()
    with settings().client() as client:
        number = client.numbers.get(e164)
        spinning = not out.as_json and out.err.is_terminal
        with (
            out.err.status(f"Waiting for an SMS to {e164}...")
            if spinning
            else contextlib.nullcontext()
        ):
            found = number.wait_for_message(timeout=timeout, match=pattern)
    message, code = found.message, found.code
    if out.as_json:
        out.json({"message": message_row(message, e164), "code": code})
        return
    sender = message_row(message, e164)["from"] or "unknown sender"
    out.note(f"SMS from {sender} at {local_time(message.timestamp)}: {message.content}")
    out.line(code if code is not None else message.content)
