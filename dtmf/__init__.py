"""The typed Python SDK for the DTMF.io API.

Start with `Client` (or `AsyncClient`)::

    import dtmf

    with dtmf.Client() as client:            # token from DTMF_TOKEN
        print(client.account.get().balance)  # satoshis

Where things live: the endpoints in `_contract.py` (one table), the resource
methods in `_resources.py`, the models in `_models.py`, the errors in
`_errors.py`, retries in `_retry.py`, the original `DTMF` class in `compat.py`,
and the reference server in `dtmf.testing`.
"""

from typing import TYPE_CHECKING, Any

from . import _logging
from ._client import AsyncClient, Client, ClientKeywords, RequestOptions
from ._codes import VerificationCode
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    DTMFError,
    InsufficientFundsError,
    InternalServerError,
    InvalidParameterError,
    MessageTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RentalNotEndedError,
    UnboundModelError,
    UnexpectedRedirectError,
    WebhookError,
    WrongEventLoopError,
)
from ._rentals import AsyncRental, Rental
from ._validate import GroupType, SmsActionName, render_sms
from ._version import __version__
from .compat import DTMF

_logging.configure_from_env()  # DTMF_LOG=debug: log to stderr (see _logging.py)


if TYPE_CHECKING:
    from . import webhooks as webhooks
    from ._fast_transport import AsyncFastTransport, FastTransport
    from ._leaks import EndedRentals
    from ._models import (
        Account,
        Address,
        AsyncGroup,
        AsyncNumber,
        BaseGroup,
        BaseNumber,
        Call,
        Group,
        InboundSMS,
        Message,
        Number,
        SmsAction,
    )
    from ._reconcile import OnAmbiguous, SendNotFoundError
    from ._waiting import MessageMatch, MessageMatcher

__all__ = [
    "DTMF",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Account",
    "Address",
    "AsyncClient",
    "AsyncFastTransport",
    "AsyncGroup",
    "AsyncNumber",
    "AsyncRental",
    "AuthenticationError",
    "BadRequestError",
    "BaseGroup",
    "BaseNumber",
    "Call",
    "Client",
    "ClientClosedError",
    "ClientKeywords",
    "ConfigurationError",
    "ConflictError",
    "DTMFError",
    "EndedRentals",
    "FastTransport",
    "GroupType",
    "Group",
    "InboundSMS",
    "InsufficientFundsError",
    "InternalServerError",
    "InvalidParameterError",
    "Message",
    "MessageMatch",
    "MessageMatcher",
    "MessageTimeoutError",
    "NotFoundError",
    "Number",
    "OnAmbiguous",
    "PermissionDeniedError",
    "RateLimitError",
    "Rental",
    "RentalNotEndedError",
    "RequestOptions",
    "SendNotFoundError",
    "SmsAction",
    "SmsActionName",
    "UnboundModelError",
    "UnexpectedRedirectError",
    "VerificationCode",
    "WebhookError",
    "WrongEventLoopError",
    "__version__",
    "render_sms",
]


# Tracebacks and reprs name the public path (`dtmf.NotFoundError`), not the private
# module a class happens to live in (as httpx does).
def _name_public_classes() -> None:
    for name in __all__:
        public = globals().get(name)  # the lazily loaded models are left as they are
        if isinstance(public, type):
            public.__module__ = __name__


_name_public_classes()
del _name_public_classes


# Loaded on first use, so that `import dtmf` does not load pydantic's model machinery
# (nor anyio, nor the webhook receiver): `dtmf.Number` and `from dtmf import Number`
# work as if they were imported here.
_LAZY = {
    **dict.fromkeys(
        (
            "Account",
            "Address",
            "AsyncGroup",
            "AsyncNumber",
            "BaseGroup",
            "BaseNumber",
            "Call",
            "Group",
            "InboundSMS",
            "Message",
            "Number",
            "SmsAction",
        ),
        "._models",
    ),
    "EndedRentals": "._leaks",
    "OnAmbiguous": "._reconcile",
    "SendNotFoundError": "._reconcile",
    "MessageMatch": "._waiting",
    "MessageMatcher": "._waiting",
    # httpcore2, for those who opt into it.
    "FastTransport": "._fast_transport",
    "AsyncFastTransport": "._fast_transport",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name == "webhooks":
        return importlib.import_module(".webhooks", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later reads are plain attribute lookups
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, "webhooks"})
