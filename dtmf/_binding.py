"""`Bindable`: how a model holds the client it acts through.

Kept apart from the models so that the clients can use it without importing
pydantic's model machinery (`import dtmf` stays lean).
"""

from __future__ import annotations

from typing import TypeVar

from ._errors import UnboundModelError

__all__ = ["Bindable"]

_ClientT = TypeVar("_ClientT")


class Bindable:
    """Holds the client a model acts through, outside the model's data.

    Each bindable model declares the slot ``_dtmf_client``; it is not a pydantic
    field or private attribute, so the binding stays out of `model_dump()`,
    equality, copies and pickles.
    """

    __slots__ = ()

    def _bound(self, expected: type[_ClientT]) -> _ClientT:
        client = getattr(self, "_dtmf_client", None)
        if client is None:
            raise UnboundModelError(
                f"this {type(self).__name__} was not returned by a client, so it cannot act; "
                f"fetch it through a client, or call .bind(client) first"
            )
        if not isinstance(client, expected):
            raise UnboundModelError(
                f"this {type(self).__name__} is bound to {_article(type(client).__name__)}, "
                f"but acts through {_article(expected.__name__)}"
            )
        return client

    def _bind_to(self, client: object, expected: type[object]) -> None:
        if not isinstance(client, expected):
            raise UnboundModelError(
                f"{_article(type(self).__name__)} acts through {_article(expected.__name__)}, "
                f"not {_article(type(client).__name__)}"
            )
        object.__setattr__(self, "_dtmf_client", client)


def _article(name: str) -> str:
    return f"an {name}" if name[0] in "AEIOU" else f"a {name}"
