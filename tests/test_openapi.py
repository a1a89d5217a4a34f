"""The OpenAPI document: valid, complete against the wire table, true to the models and server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import dtmf
from dtmf._contract import OPERATIONS
from dtmf._validate import check_e164, check_group_id
from dtmf.testing import Emulator, openapi
from dtmf.testing._openapi import CORROBORATED, ERRORS, documented_fields, result_model

from .documented import DOC_GROUP, DOC_MESSAGE, DOC_NUMBER, LIVE_NUMBER
from .wire import OPS

TOKEN = "openapi-token"
DOCUMENT = openapi()


def _operation(name: str) -> dict[str, Any]:
    op = OPS[name]
    found: dict[str, Any] = DOCUMENT["paths"][op.path][op.method.lower()]
    return found


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of `schema`, whose $refs point into the document's components."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:dtmf-openapi", DRAFT202012.create_resource(DOCUMENT)
    )
    text = json.dumps(schema).replace('"#/components', '"urn:dtmf-openapi#/components')
    rebased = json.loads(text)
    return Draft202012Validator(rebased, registry=registry)


def _component(name: str) -> Draft202012Validator:
    return _validator({"$ref": f"#/components/schemas/{name}"})


def test_it_is_valid_openapi_3_1() -> None:
    validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"
    assert DOCUMENT["info"]["version"] == dtmf.__version__


def test_a_fresh_copy_each_call() -> None:
    first = openapi()
    first["paths"].clear()
    assert openapi() == DOCUMENT


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_operation_of_the_wire_table_is_in_it(op: Any) -> None:
    found = _operation(op.name)
    assert found["operationId"] == op.name
    assert found["summary"] == op.summary
    assert found["x-dtmf-retry"] == op.retry.value
    parameters = {p["name"]: p for p in found.get("parameters", [])}
    assert list(parameters) == list(op.query)
    assert all(p["in"] == "query" for p in parameters.values())
    assert {n for n, p in parameters.items() if p["required"]} == set(op.query) - op.optional
    if op.body:
        schema = found["requestBody"]["content"]["application/json"]["schema"]
        branches = schema.get("oneOf", [schema])
        for branch in branches:
            assert set(branch["properties"]) == set(op.body)
            assert set(op.body) - op.optional <= set(branch["required"])
    else:
        assert "requestBody" not in found
    responses = found["responses"]
    success = responses[str(op.success_status)]
    shape = result_model(op)
    if shape is None:
        assert "content" not in success
    else:
        model, many = shape
        schema = success["content"]["application/json"]["schema"]
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        assert schema == ({"type": "array", "items": ref} if many else ref)
    errors = {status for status in responses if status != str(op.success_status)}
    assert "401" in errors
    for status in errors:
        error_schema = responses[status]["content"]["application/json"]["schema"]
        assert error_schema == {"$ref": "#/components/schemas/Error"}


def test_nothing_else_is_in_it() -> None:
    names = [
        operation["operationId"]
        for methods in DOCUMENT["paths"].values()
        for operation in methods.values()
    ]
    assert sorted(names) == sorted(op.name for op in OPERATIONS)
    assert set(CORROBORATED) <= set(OPS)
    assert set(ERRORS) <= set(OPS)


def test_the_corroborated_paths_are_marked() -> None:
    for op in OPERATIONS:
        assert _operation(op.name)["x-dtmf-corroborated"] is (op.name in CORROBORATED)


def test_both_dialects_validate() -> None:
    number = _component("Number")
    number.validate(DOC_NUMBER)
    number.validate(LIVE_NUMBER)
    _component("Message").validate(DOC_MESSAGE)
    _component("Message").validate(LIVE_NUMBER["messages"][0])
    _component("Call").validate(LIVE_NUMBER["calls"][0])
    _component("Group").validate(DOC_GROUP)
    # Unknown fields are allowed, as the models keep them.
    number.validate({**DOC_NUMBER, "a_new_field": {"nested": [1]}})


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("Number", {k: v for k, v in DOC_NUMBER.items() if k != "e164"}),
        ("Number", {**DOC_NUMBER, "cost_per_minute": "13"}),
        ("Number", {**DOC_NUMBER, "messages": [{"from": "+1234"}]}),
        ("Group", {**DOC_GROUP, "setup_cost": None}),
        ("Account", {"balance": "12"}),
        ("Error", {"error": "x"}),
    ],
)
def test_what_the_models_refuse_does_not_validate(name: str, body: dict[str, Any]) -> None:
    assert not _component(name).is_valid(body)


def test_the_dialects_are_listed() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    number = schemas["Number"]["x-dtmf-dialects"]
    assert number["documented"] == sorted(DOC_NUMBER)
    assert set(number["later"]) == set(LIVE_NUMBER) - set(DOC_NUMBER)
    message = schemas["Message"]["x-dtmf-dialects"]
    assert message["documented"] == sorted(DOC_MESSAGE)
    assert set(message["later"]) == {"id", "other_number", "inbound", "status"}
    assert documented_fields(dtmf.AsyncNumber) == frozenset(DOC_NUMBER)


@pytest.mark.parametrize(
    ("field", "check", "good", "bad"),
    [
        ("e164", check_e164, ["+12", "+447700900123", "+123456789012345"],
         ["+0123", "+1", "447700900123", "+1234567890123456", "+44 7700"]),
        ("group_id", check_group_id, ["gb-mobile", "a", "x_1"], ["", "GB-mobile", "-gb", "a b"]),
    ],
)  # fmt: skip
def test_field_patterns_agree_with_the_sdks_checks(
    field: str, check: Any, good: list[str], bad: list[str]
) -> None:
    op = next(op for op in OPERATIONS if field in op.query + op.body)
    found = _operation(op.name)
    if field in op.query:
        schema = next(p["schema"] for p in found["parameters"] if p["name"] == field)
    else:
        schema = found["requestBody"]["content"]["application/json"]["schema"]["properties"][field]
    validator = _validator(schema)
    for value in good:
        check(value)
        assert validator.is_valid(value), value
    for value in bad:
        with pytest.raises(dtmf.InvalidParameterError):
            check(value)
        assert not validator.is_valid(value), value


def test_sms_action_bodies() -> None:
    op = _operation("numbers.set_sms_action")
    validator = _validator(op["requestBody"]["content"]["application/json"]["schema"])
    for body in (
        {"action": "forward", "destination": "+447700900123"},
        {"action": "webhook", "destination": "https://example.org/hook"},
        {"action": None, "destination": None},
        {"action": None},
    ):
        assert validator.is_valid(body), body
    for body in (
        {"action": "forward", "destination": "https://example.org/hook"},
        {"action": "webhook", "destination": "+447700900123"},
        {"action": None, "destination": "+447700900123"},
        {"action": "webhook", "destination": "https://example.org/\x01hook"},
        {"action": "webhook", "destination": "ftp://example.org/hook"},
        {"action": "email", "destination": "a@b.c"},
        {"destination": None},
    ):
        assert not validator.is_valid(body), body


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=5) as emulator:
        emulator.add_account(TOKEN, balance=10_000_000)
        yield emulator


def test_the_served_document_is_the_same_without_a_token(base_url: str) -> None:
    with httpx.Client(trust_env=False) as http:
        response = http.get(f"{base_url}/openapi.json")
        head = http.head(f"{base_url}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == DOCUMENT
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(response.content)


def test_the_command_writes_it(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    subprocess.run(
        [sys.executable, "-m", "dtmf.testing", "--openapi", str(target)], check=True, timeout=60
    )
    assert json.loads(target.read_text()) == DOCUMENT
    out = subprocess.run(
        [sys.executable, "-m", "dtmf.testing", "--openapi", "-"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == DOCUMENT


def test_the_reference_servers_answers_conform(emu: Emulator) -> None:
    """Each operation's success and a refusal, checked against the document by hand."""
    with (
        emu.client(TOKEN) as client,
        httpx.Client(transport=emu.transport(), base_url=emu.base_url) as http,
    ):
        number = client.numbers.rent("gb-mobile")
        emu.simulate_inbound_sms(number.e164, "+447700900123", "Grüße")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        calls = {
            "account.get": {},
            "addresses.list": {},
            "addresses.create": {},
            "groups.list": {"params": {"type": "mobile"}},
            "numbers.list": {},
            "numbers.get": {"params": {"e164": number.e164}},
        }
        for name, kwargs in calls.items():
            op = OPS[name]
            response = http.request(op.method, op.path.lstrip("/"), headers=auth, **kwargs)
            assert response.status_code == op.success_status
            schema = _operation(name)["responses"][str(op.success_status)]
            validator = _validator(schema["content"]["application/json"]["schema"])
            validator.validate(response.json())
        refused = http.get("number", params={"e164": "+1"}, headers=auth)
        assert refused.status_code == 400
        _component("Error").validate(refused.json())
        client.numbers.end_rental(number.e164)
