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

from ._client import AsyncClient, Client
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
    UnboundModelError,
    UnexpectedRedirectError,
)
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
from ._validate import GroupType, SmsActionName, render_sms
from ._version import __version__
from ._waiting import MessageMatch, MessageMatcher
from .compat import DTMF
from .webhooks import WebhookError

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
    "AsyncGroup",
    "AsyncNumber",
    "AuthenticationError",
    "BadRequestError",
    "BaseGroup",
    "BaseNumber",
    "Call",
    "Client",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DTMFError",
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
    "PermissionDeniedError",
    "RateLimitError",
    "SmsAction",
    "SmsActionName",
    "UnboundModelError",
    "UnexpectedRedirectError",
    "WebhookError",
    "__version__",
    "render_sms",
]
