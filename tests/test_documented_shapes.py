"""One declaration per shape: the models declare the bodies, the TypedDicts the documented subset.

`DTMF`'s documented TypedDicts are public return types, so they are written out
for type checkers; everything else derives from them and the models (the
converters, `DTMF`'s fast path, the reference server's bodies). These tests hold
the two declarations to each other, and the reference server to both.
"""

from __future__ import annotations

import json
from typing import Any, get_type_hints

import pytest
from pydantic import BaseModel

import dtmf
from dtmf._documented import AccountDict, AddressDict, GroupDict, MessageDict, NumberDict
from dtmf.testing import Emulator

# Documented keys whose documented form is a conversion of the model's value.
CONVERTED = {
    NumberDict: {"cost_per_inbound_message", "assignment_start", "messages"},
    MessageDict: {"timestamp"},
}
SHAPES: list[tuple[Any, type[BaseModel]]] = [
    (AccountDict, dtmf.Account),
    (AddressDict, dtmf.Address),
    (GroupDict, dtmf.BaseGroup),
    (NumberDict, dtmf.BaseNumber),
    (MessageDict, dtmf.Message),
]


def _wire_fields(model: type[BaseModel]) -> dict[str, Any]:
    return {info.alias or name: info for name, info in model.model_fields.items()}


@pytest.mark.parametrize(("documented", "model"), SHAPES)
def test_every_documented_key_is_a_model_field_of_the_same_type(
    documented: Any, model: type[BaseModel]
) -> None:
    fields = _wire_fields(model)
    hints = get_type_hints(documented)
    assert set(hints) <= set(fields), f"{documented.__name__} has keys {model.__name__} lacks"
    for key, hint in hints.items():
        if key not in CONVERTED.get(documented, ()):
            assert hint == fields[key].annotation, (documented.__name__, key)


def test_the_reference_servers_bodies_have_the_documented_keys() -> None:
    with Emulator(seed=1) as emulator:
        emulator.add_account("t", balance=10**9)
        headers = {"authorization": "Bearer t"}

        def get(path: str, **query: str) -> Any:
            reply = emulator.handle("GET", f"/api/v1{path}", query, headers, b"")
            assert reply.status == 200
            return json.loads(reply.body)

        groups = get("/groups", type="mobile")
        assert groups
        assert all(list(group) == list(GroupDict.__annotations__) for group in groups)
        with emulator.client("t") as client:
            e164 = client.numbers.rent(groups[0]["id"]).e164
        emulator.simulate_inbound_sms(to=e164, sender="+447700900123", content="hi")
        number = get("/number", e164=e164)
        assert list(number) == list(NumberDict.__annotations__)
        # The emulator also gives each message the later dialect's id and direction.
        (message,) = number["messages"]
        assert list(message) == ["id", *MessageDict.__annotations__, "inbound"]
        assert get("/account").keys() == AccountDict.__annotations__.keys()
        assert all(a.keys() == AddressDict.__annotations__.keys() for a in get("/addresses"))
