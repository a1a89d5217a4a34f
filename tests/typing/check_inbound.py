"""Typed usage of inbound SMS (waiting, webhooks) and of model binding.

Checked by mypy --strict and pyright (strict) in `make types`; nothing here runs.
A line ending in ``# type: ignore[code]`` is a mistake the checkers must refuse:
mypy's `warn_unused_ignores` (part of --strict) fails if it is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from typing_extensions import assert_type

import dtmf
from dtmf import webhooks

CODE = re.compile(r"\b(\d{4,8})\b")


def sync_waiting(number: dtmf.Number) -> None:
    found = number.wait_for_message(match=CODE, timeout=120)
    assert_type(found, dtmf.MessageMatch)
    assert_type(found.code, str | None)
    assert_type(found.match, re.Match[str] | None)
    assert_type(found.message, dtmf.Message)
    assert_type(found.message.content, str)
    assert_type(found.message.from_, str | None)
    assert_type(number.wait_for_message(match="STOP").code, str | None)
    assert_type(number.wait_for_message(match=lambda m: m.from_ == "+1234"), dtmf.MessageMatch)
    matcher: dtmf.MessageMatcher = CODE
    assert_type(number.wait_for_message(match=matcher, since=None), dtmf.MessageMatch)
    number.wait_for_message(match=5)  # type: ignore[arg-type]


async def async_waiting(number: dtmf.AsyncNumber) -> None:
    found = await number.wait_for_message(match=CODE, timeout=120)
    assert_type(found, dtmf.MessageMatch)
    assert_type(found.code, str | None)
    code: str = found.code or ""
    print(code)


def on_sms(sms: dtmf.InboundSMS) -> str | None:
    assert_type(sms.id, int)
    assert_type(sms.e164, str)
    assert_type(sms.sender, str)
    assert_type(sms.content, str)
    return None if sms.content == "STOP" else f"Thanks, got {sms.content!r}"


async def on_sms_async(sms: dtmf.InboundSMS) -> str | None:
    return sms.content.upper()


def always(sms: dtmf.InboundSMS) -> str:
    return "ok"


def counts(sms: dtmf.InboundSMS) -> int:
    return len(sms.content)


def webhook_usage(body: bytes, headers: Iterable[tuple[str, str]]) -> None:
    assert_type(webhooks.parse(body), dtmf.InboundSMS)
    assert_type(webhooks.parse(body.decode()), dtmf.InboundSMS)
    assert_type(webhooks.parse({"id": 1, "e164": "+1234", "sender": "+1", "content": "x"}),
                dtmf.InboundSMS)  # fmt: skip
    assert_type(webhooks.reply_text("Zürich"), str)
    assert_type(webhooks.asgi_app(on_sms, secret="s3cr3t"), webhooks.ASGIApp)
    assert_type(webhooks.asgi_app(on_sms_async, secret="s3cr3t", dedupe=0), webhooks.ASGIApp)
    assert_type(webhooks.asgi_app(always), webhooks.ASGIApp)
    assert_type(webhooks.asgi_app(lambda sms: None), webhooks.ASGIApp)
    assert_type(webhooks.wsgi_app(on_sms, secret="s3cr3t"), webhooks.WSGIApp)
    try:
        webhooks.parse(body)
    except dtmf.WebhookError as exc:
        assert_type(exc, dtmf.WebhookError)
        problem: ValueError = exc  # a WebhookError is a ValueError
        print(problem)
    webhooks.asgi_app(counts)  # type: ignore[arg-type]
    webhooks.wsgi_app(on_sms_async)  # type: ignore[arg-type]


class SqlStore:
    """A user's own store for wsgi_app: a DedupeStore by its methods alone."""

    def claim(self, key: str) -> bool | str:
        return True

    def record(self, key: str, reply: str) -> None:
        pass

    def release(self, key: str) -> None:
        pass


def dedupe_stores(url: str) -> None:
    on_redis = webhooks.RedisDedupe(url, ttl=3600, claim_ttl=60, prefix="shop:sms:")
    assert_type(webhooks.asgi_app(on_sms, dedupe=on_redis), webhooks.ASGIApp)
    assert_type(webhooks.wsgi_app(on_sms, dedupe=on_redis), webhooks.WSGIApp)
    in_memory = webhooks.MemoryDedupe(4096)
    assert_type(webhooks.wsgi_app(on_sms, dedupe=in_memory), webhooks.WSGIApp)
    assert_type(webhooks.asgi_app(on_sms, dedupe=in_memory), webhooks.ASGIApp)
    store: webhooks.DedupeStore = SqlStore()
    assert_type(store.claim("+1234:5"), bool | str)
    assert_type(webhooks.wsgi_app(on_sms, dedupe=SqlStore()), webhooks.WSGIApp)
    webhooks.asgi_app(on_sms, dedupe=SqlStore())  # type: ignore[arg-type]
    webhooks.RedisDedupe(url, ttl="1d")  # type: ignore[arg-type]


def binding(client: dtmf.Client, aclient: dtmf.AsyncClient, anumber: dtmf.AsyncNumber) -> None:
    assert_type(dtmf.Number(e164="+1234567890").bind(client), dtmf.Number)
    assert_type(dtmf.AsyncNumber(e164="+1234567890").bind(aclient), dtmf.AsyncNumber)
    # A model acts only through its own kind of client.
    dtmf.Number(e164="+1234567890").bind(aclient)  # type: ignore[arg-type]
    dtmf.AsyncNumber(e164="+1234567890").bind(client)  # type: ignore[arg-type]
    dtmf.Number.end_rental(anumber)  # type: ignore[arg-type]  # a sync action, async model
