"""Typed usage of both clients, checked by mypy --strict and pyright (strict).

Nothing here runs against a server: `make test` type-checks it, and
`tests/test_typing.py` also checks that typos in user code are flagged.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from typing_extensions import assert_type

import dtmf


def sync_usage(client: dtmf.Client) -> None:
    assert_type(client.account.get(), dtmf.Account)
    assert_type(client.account.get().balance, int)
    assert_type(client.addresses.list(), list[dtmf.Address])
    assert_type(client.addresses.create(), dtmf.Address)
    assert_type(client.groups.list("mobile"), list[dtmf.Group])
    assert_type(client.numbers.list(), list[dtmf.Number])
    number = client.numbers.get("+1234567890")
    assert_type(number, dtmf.Number)
    assert_type(client.numbers.rent("us-mobile"), dtmf.Number)
    assert_type(client.numbers.end_rental("+1234567890"), None)
    assert_type(client.numbers.set_sms_action("+1234567890", "webhook", "https://e.org/h"), None)
    assert_type(client.messages.send("+1234567890", "+1234", "text"), None)
    assert_type(client.groups.list("mobile")[0].rent(), dtmf.Number)
    assert_type(number.set_sms_action("forward", "+44123456789"), None)
    assert_type(number.send_sms("+1234", "hello"), dtmf.Message | None)
    assert_type(number.send_sms("+1234", "hello", on_ambiguous="check"), dtmf.Message | None)
    assert_type(number.reconcile_send("+1234", "hello", sent_after=datetime.now()), dtmf.Message)
    assert_type(
        client.messages.reconcile_send("+1", "+2", "hi", sent_after=datetime.now()), dtmf.Message
    )
    assert_type(number.age(), timedelta)
    assert_type(number.cost_so_far(), int)
    ended = client.numbers.end_older_than(timedelta(hours=1), keep=["+1234"])
    assert_type(ended, dtmf.EndedRentals[dtmf.Number])
    assert_type(ended.failed, dict[str, dtmf.DTMFError])
    assert_type(number.refresh(), dtmf.Number)
    assert_type(number.end_rental(), None)
    assert_type(number.messages[0].timestamp, datetime | None)
    assert_type(number.sms_action, dtmf.SmsAction)
    assert_type(client.with_options(timeout=5), dtmf.Client)


async def async_usage(client: dtmf.AsyncClient) -> None:
    assert_type(await client.account.get(), dtmf.Account)
    assert_type(await client.addresses.list(), list[dtmf.Address])
    assert_type(await client.groups.list("local"), list[dtmf.AsyncGroup])
    number = await client.numbers.get("+1234567890")
    assert_type(number, dtmf.AsyncNumber)
    assert_type(await number.end_rental(), None)
    assert_type(await number.refresh(), dtmf.AsyncNumber)
    assert_type(await (await client.groups.list("mobile"))[0].rent(), dtmf.AsyncNumber)
    assert_type(await client.messages.send("+1234567890", "+1234", "text"), None)
    assert_type(await number.send_sms("+1234", "hello"), dtmf.Message | None)
    assert_type(await number.send_sms("+1", "hi", on_ambiguous="check"), dtmf.Message | None)
    assert_type(await number.reconcile_send("+1", "hi", sent_after=datetime.now()), dtmf.Message)
    ended = await client.numbers.end_older_than(timedelta(minutes=5))
    assert_type(ended, dtmf.EndedRentals[dtmf.AsyncNumber])
    assert_type(await ended.ended[0].end_rental(), None)
    assert_type(client.with_options(max_retries=0), dtmf.AsyncClient)


async def async_rental_usage(client: dtmf.AsyncClient) -> None:
    rental = client.numbers.rental("us-mobile", keep=False, end_timeout=10)
    assert_type(rental, dtmf.AsyncRental)
    async with rental as number:
        assert_type(number, dtmf.AsyncNumber)
        assert_type(await number.end_rental(), None)
        assert_type(rental.keep(), None)
    assert_type(rental.number, dtmf.AsyncNumber | None)
    group = (await client.groups.list("mobile"))[0]
    assert_type(group.rental(), dtmf.AsyncRental)

    async def tell(number: dtmf.AsyncNumber) -> None:
        print(number.e164)

    found = await client.numbers.receive_code("us-mobile", on_rented=tell, timeout=60)
    assert_type(found, dtmf.VerificationCode)
    assert_type(found.code, str)
    assert_type(found.message, dtmf.Message)


def rental_usage(client: dtmf.Client) -> None:
    rental = client.numbers.rental("us-mobile")
    assert_type(rental, dtmf.Rental)
    with rental as number:
        assert_type(number, dtmf.Number)
        assert_type(number.end_rental(), None)
    assert_type(rental.kept, bool)
    assert_type(client.groups.list("mobile")[0].rental(keep=True), dtmf.Rental)
    found = client.numbers.receive_code("us-mobile", pattern=r"G-(\d+)", on_rented=print)
    assert_type(found, dtmf.VerificationCode)
    assert_type(found.e164, str)


def compat_usage(old: dtmf.DTMF) -> None:
    assert_type(old.account()["balance"], int)
    for message in old.number("+1234567890")["messages"]:
        assert_type(message["from"], str | None)
    assert_type(old.end_rental("+1234567890"), Literal[True])


def old_code_with_plain_strings(old: dtmf.DTMF, kind: str, action: str | None) -> None:
    """Code written for the original client passes any str, as its docs say."""
    assert_type(old.groups(kind), list[dtmf.compat.GroupDict])
    assert_type(old.set_sms_action("+1234567890", action, None), Literal[True])


class MyClient(dtmf.Client):
    """Users subclass clients (to add helpers); the resources keep their types."""

    def balance(self) -> int:
        return self.account.get().balance


def subclass_usage(client: MyClient) -> None:
    assert_type(client.numbers.get("+1234567890"), dtmf.Number)
    assert_type(client.with_options(max_retries=0), MyClient)
    assert_type(client.with_options(max_retries=0).numbers.list(), list[dtmf.Number])
