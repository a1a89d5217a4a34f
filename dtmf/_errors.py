"""The exceptions the SDK raises: every one is a `DTMFError`.

The ladder follows HTTP status classes so that callers can catch as broadly or as
narrowly as they need::

    DTMFError
    ├── InvalidParameterError (also ValueError)  bad input, raised before any request
    ├── ConfigurationError                        missing token, unsafe base URL, ...
    ├── UnboundModelError                         an action on a model with no client
    ├── ClientClosedError                         a call on a closed client
    ├── WrongEventLoopError                       an AsyncClient used in a second event loop
    ├── MessageTimeoutError                       wait_for_message() gave up
    ├── RentalNotEndedError                       a scoped rental could not end its number
    ├── SendNotFoundError                         reconcile_send(): the SMS was not sent
    ├── WebhookError (also ValueError)            a webhook body that is not an inbound SMS
    └── APIError                                  anything that involved the service
        ├── APIConnectionError                    no usable response
        │   └── APITimeoutError
        ├── APIResponseValidationError            a response we could not understand
        └── APIStatusError                        a non-success status
            ├── BadRequestError          400, 422
            ├── AuthenticationError      401
            ├── InsufficientFundsError   402
            ├── PermissionDeniedError    403
            ├── NotFoundError            404
            ├── ConflictError            409
            ├── RateLimitError           429
            ├── InternalServerError      5xx
            └── UnexpectedRedirectError  3xx (redirects are never followed)
"""

from __future__ import annotations

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DTMFError",
    "InsufficientFundsError",
    "InternalServerError",
    "InvalidParameterError",
    "MessageTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RentalNotEndedError",
    "UnboundModelError",
    "UnexpectedRedirectError",
    "WebhookError",
    "WrongEventLoopError",
]

# Response bodies are kept on exceptions for debugging; a proxy's error page can be
# large, so only this much of it is kept.
MAX_BODY_KEPT = 4096


class DTMFError(Exception):
    """Base class of every error raised by the dtmf SDK."""

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take keyword arguments `Exception` pickling does not replay;
        # rebuild from the message and the attributes instead (e.g. across processes).
        # The httpx request and response stay behind: the request carries the token.
        state = {
            key: None if key in ("request", "response") else value
            for key, value in self.__dict__.items()
        }
        return (_restore, (type(self), self.args, state))


def _restore(cls: type[DTMFError], args: tuple[object, ...], state: dict[str, object]) -> DTMFError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidParameterError(DTMFError, ValueError):
    """An argument was rejected before any request was made.

    It is a `ValueError`, as the original client documented, and names the
    parameter and what is wrong with the value.
    """

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter
        self.problem = problem


class ConfigurationError(DTMFError):
    """The client cannot be used as configured (no token, an unsafe base URL, ...)."""


class UnboundModelError(DTMFError):
    """An action was called on a model that no client returned (or the wrong kind of client)."""


class ClientClosedError(DTMFError):
    """A call was made through a client after `close()`."""


class WebhookError(DTMFError, ValueError):
    """A webhook body that is not the service's inbound-SMS JSON (see `dtmf.webhooks`)."""


class WrongEventLoopError(DTMFError):
    """An `AsyncClient` was used in an event loop other than the one it first ran in."""


class MessageTimeoutError(DTMFError):
    """`wait_for_message()` saw no matching inbound message before its timeout."""


class RentalNotEndedError(DTMFError):
    """A scoped rental (`numbers.rental()`, `receive_code()`) could not end its number.

    The number is still rented, and billed every minute, until it is ended. `e164`
    is the number and `end_error` what ending it raised; when the `with` block had
    failed too, that failure is this error's `__cause__`.
    """

    e164: str
    end_error: BaseException

    def __init__(
        self, e164: str, end_error: BaseException, *, cost_per_minute: int | None = None
    ) -> None:
        problem = f"{type(end_error).__name__}: {end_error}" if str(end_error) else repr(end_error)
        rate = f" ({cost_per_minute} satoshis a minute)" if cost_per_minute is not None else ""
        super().__init__(
            f"the rental of {e164} was NOT ended ({problem}): it is still billed{rate} until "
            f"you end it with client.numbers.end_rental({e164!r}) or `dtmf release {e164}`"
        )
        self.e164 = e164
        self.end_error = end_error


class APIError(DTMFError):
    """A call to the service failed.

    `operation` names what was being done (e.g. ``"messages.send"``). When
    `may_have_succeeded` is true the request may have reached the service, so a paid
    action (an SMS, a rental) may or may not have happened: the message says how to
    check instead of trying again blindly.
    """

    operation: str
    request: httpx.Request | None
    may_have_succeeded: bool

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        request: httpx.Request | None = None,
        may_have_succeeded: bool = False,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.request = request
        self.may_have_succeeded = may_have_succeeded


class APIConnectionError(APIError):
    """No usable response arrived: the connection failed, was reset, or broke mid-body."""


class APITimeoutError(APIConnectionError):
    """The request, or the call as a whole with its retries, took longer than allowed."""


class _ResponseError(APIError):
    """An error about a response that did arrive."""

    response: httpx.Response
    status_code: int
    request_id: str | None
    body: str

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        response: httpx.Response,
        may_have_succeeded: bool = False,
    ) -> None:
        super().__init__(
            message,
            operation=operation,
            request=response.request,
            may_have_succeeded=may_have_succeeded,
        )
        self.response = response
        self.status_code = response.status_code
        self.request_id = response.headers.get("x-request-id")
        self.body = response.content[:MAX_BODY_KEPT].decode("utf-8", "replace")


class APIResponseValidationError(_ResponseError):
    """The response was not JSON, was cut short, or did not have the documented shape."""


class APIStatusError(_ResponseError):
    """The service answered with a status that is not a success.

    `server_message` is the service's own explanation when it sent one.
    """

    server_message: str | None

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        response: httpx.Response,
        server_message: str | None = None,
        may_have_succeeded: bool = False,
    ) -> None:
        super().__init__(
            message,
            operation=operation,
            response=response,
            may_have_succeeded=may_have_succeeded,
        )
        self.server_message = server_message


class BadRequestError(APIStatusError):
    """400 or 422: the service rejected the request's content."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, wrong or revoked."""


class InsufficientFundsError(APIStatusError):
    """402: the account balance does not cover the action."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not do this."""


class NotFoundError(APIStatusError):
    """404: no such thing for this account (e.g. a number it does not rent)."""


class ConflictError(APIStatusError):
    """409: the action conflicts with the current state."""


class RateLimitError(APIStatusError):
    """429: too many requests; the service did not act."""


class InternalServerError(APIStatusError):
    """5xx: the service failed."""


class UnexpectedRedirectError(APIStatusError):
    """3xx: the SDK never follows redirects, so the token cannot travel to another host."""


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientFundsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for a non-success status code."""
    if status_code in STATUS_ERRORS:
        return STATUS_ERRORS[status_code]
    if status_code >= 500:
        return InternalServerError
    if 300 <= status_code < 400:
        return UnexpectedRedirectError
    return APIStatusError
