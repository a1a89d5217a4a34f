"""Checks on user input, run before any request so bad input never costs a round trip.

Each check returns the value to send, or raises `InvalidParameterError` (a
`ValueError`) naming the parameter and the problem.
"""

from __future__ import annotations

import re
from typing import Literal, TypeAlias
from urllib.parse import urlsplit

from ._errors import InvalidParameterError

__all__ = [
    "E164_PATTERN",
    "GROUP_ID_PATTERN",
    "GroupType",
    "MAX_SMS_LENGTH",
    "SmsActionName",
    "check_content",
    "check_e164",
    "check_group_id",
    "check_group_type",
    "check_sms_action",
    "check_webhook_url",
    "render_reply",
    "render_sms",
]

GroupType: TypeAlias = Literal["mobile", "local"]
SmsActionName: TypeAlias = Literal["forward", "webhook"]

MAX_SMS_LENGTH = 160

E164_PATTERN = r"\+[1-9][0-9]{1,14}"
"""What `check_e164` accepts, whole (the OpenAPI document of `dtmf.testing` quotes it)."""
GROUP_ID_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
"""What `check_group_id` accepts, whole."""

_E164 = re.compile(E164_PATTERN)
_GROUP_ID = re.compile(GROUP_ID_PATTERN)


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_encodable(value: str, parameter: str) -> None:
    """Text the wire can carry: a lone surrogate (from a bad decode) has no UTF-8 form."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidParameterError(
            parameter,
            f"contains a lone surrogate ({value[exc.start]!r} at position {exc.start}), "
            "which is not text: decode the input with errors='replace' or fix its source",
        ) from None


def check_e164(value: object, parameter: str = "e164") -> str:
    """A phone number in E.164 form: '+', a first digit 1-9, 2 to 15 digits in all."""
    if not isinstance(value, str):
        raise InvalidParameterError(
            parameter, f"expected an E.164 phone number as a str, got {type(value).__name__}"
        )
    if _E164.fullmatch(value) is None:
        raise InvalidParameterError(
            parameter,
            f"{_describe(value)} is not in E.164 format: '+' then 2 to 15 digits, "
            "no leading zero, no spaces or punctuation (e.g. '+447700900123')",
        )
    return value


def check_group_type(value: object, parameter: str = "group_type") -> GroupType:
    """A phone number group type: 'mobile' or 'local'."""
    if value == "mobile":
        return "mobile"
    if value == "local":
        return "local"
    raise InvalidParameterError(parameter, f"{_describe(value)} is not 'mobile' or 'local'")


def check_group_id(value: object, parameter: str = "group_id") -> str:
    """A group id as the service lists them, e.g. 'us-mobile'."""
    if not isinstance(value, str) or _GROUP_ID.fullmatch(value) is None:
        raise InvalidParameterError(
            parameter,
            f"{_describe(value)} is not a group id: use the id of a group from "
            "groups.list(), e.g. 'us-mobile'",
        )
    return value


def check_webhook_url(value: object, parameter: str = "destination") -> str:
    """An absolute http(s) URL with a host, for the 'webhook' SMS action."""
    if not isinstance(value, str):
        raise InvalidParameterError(
            parameter, f"expected a URL as a str, got {type(value).__name__}"
        )
    _check_encodable(value, parameter)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (a port that is not a number, 'http://host:abc/', raises here)
    except ValueError as exc:
        raise InvalidParameterError(parameter, f"{_describe(value)} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameterError(
            parameter,
            f"{_describe(value)} is not an absolute http(s) URL with a host "
            "(e.g. 'https://example.org/webhook')",
        )
    if any(ch.isspace() for ch in value):
        raise InvalidParameterError(parameter, f"{_describe(value)} contains white space")
    # urlsplit drops leading control characters ('\x01http://...' has the http scheme),
    # and no HTTP client sends a URL holding one.
    if not value.isprintable():
        raise InvalidParameterError(
            parameter, f"{_describe(value)} contains a control or invisible character"
        )
    return value


def check_sms_action(
    action: object, destination: object
) -> tuple[SmsActionName | None, str | None]:
    """An SMS action and its destination, as the original client documented them.

    'forward' takes an E.164 number, 'webhook' an http(s) URL, and None (store
    only) takes no destination.
    """
    if action is None:
        if destination is not None:
            raise InvalidParameterError(
                "destination", "must be None when action is None (messages are only stored)"
            )
        return None, None
    if action == "forward":
        return "forward", check_e164(destination, "destination")
    if action == "webhook":
        return "webhook", check_webhook_url(destination, "destination")
    raise InvalidParameterError(
        "action", f"{_describe(action)} is not 'forward', 'webhook' or None"
    )


def render_sms(content: str) -> str:
    """The ASCII text the service sends for `content`.

    Non-ASCII characters are transliterated as the service does ('Zürich' becomes
    'Zurich', '€' becomes 'EUR'); control characters other than newline are
    dropped. Use it to preview an SMS before `send`: the result must be at most
    160 characters.
    """
    if content.isascii():
        text = content
    else:
        # anyascii's tables are large: loaded only when a message needs them.
        from anyascii import anyascii

        text = anyascii(content)
    return "".join(ch for ch in text if ch >= " " or ch == "\n")


def render_reply(text: str) -> str:
    """The SMS the service sends for a webhook's answer of `text`.

    The documented rule (README, "Webhooks"; `dtmf.webhooks`): a webhook's 2xx
    answer with a non-empty body is sent back to the sender as an SMS, rendered
    to ASCII (`render_sms`) and cut to 160 characters. The reference server
    sends forwarded SMS the same way.
    """
    return render_sms(text)[:MAX_SMS_LENGTH]


def check_content(value: object, parameter: str = "content") -> str:
    """SMS content whose ASCII rendering fits in one message."""
    if not isinstance(value, str):
        raise InvalidParameterError(
            parameter, f"expected text as a str, got {type(value).__name__}"
        )
    _check_encodable(value, parameter)
    rendered = render_sms(value)
    if not rendered:
        raise InvalidParameterError(parameter, "is empty (after rendering to ASCII)")
    if len(rendered) > MAX_SMS_LENGTH:
        raise InvalidParameterError(
            parameter,
            f"renders to {len(rendered)} ASCII characters, over the {MAX_SMS_LENGTH} an SMS "
            "may hold; dtmf.render_sms() shows the rendering",
        )
    return value
