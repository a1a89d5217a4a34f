"""The wire contract as an OpenAPI 3.1 document, generated from the table and the models.

Nothing here describes an endpoint by hand: each operation of `dtmf._contract.OPERATIONS`
gives its method, path, query and body fields and success status; its signature
function's annotations give the fields' types, and the checks of `dtmf._validate`
their patterns; the pydantic models give the response schemas (whatever a model
accepts, both dialects of the service included, validates). The error answers carry
the reference server's error body (`_server.ErrorBody`).

`dtmf.testing.openapi()` returns the document; the reference server serves it at
``GET /api/v1/openapi.json`` (no token needed); ``python -m dtmf.testing --openapi
FILE`` writes it, for a docs site or another language's code generator.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any, get_args, get_origin, get_type_hints

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from .. import _documented
from .._contract import OPERATIONS, Operation
from .._validate import E164_PATTERN, GROUP_ID_PATTERN, MAX_SMS_LENGTH, SmsActionName
from .._version import __version__
from ._server import API_PREFIX, ErrorBody

__all__ = [
    "CORROBORATED",
    "ERRORS",
    "LIVE_BASE_URL",
    "documented_fields",
    "model_in",
    "openapi",
    "openapi_json",
    "result_model",
    "wire_fields",
]

LIVE_BASE_URL = "https://dtmf.io" + API_PREFIX
REFERENCE_BASE_URL = "http://127.0.0.1:8765" + API_PREFIX

# Custom string formats: annotations to a JSON Schema validator, and the names the
# fuzzer (tests/fuzz_hooks.py) registers strategies under, for what no pattern states.
SMS_CONTENT_FORMAT = "dtmf-sms-content"
WEBHOOK_URL_FORMAT = "dtmf-webhook-url"

CORROBORATED: Mapping[str, str] = {
    op.name: op.corroborated_by for op in OPERATIONS if op.corroborated_by is not None
}
"""The operations whose method and path a source independent of this project shows
(the rows' `corroborated_by`); every other one is this project's choice."""

_COMMON_ERRORS = {401: "The token is missing or not valid."}
_FIELD_ERRORS = {400: "A field is missing or not valid (`parameter` names it)."}
_BODY_ERRORS = {422: "The body is not a JSON object."}
_RENTAL_ERRORS = {404: "The number is not one your account rents."}
ERRORS: Mapping[str, Mapping[int, str]] = {
    "numbers.get": _RENTAL_ERRORS,
    "numbers.end_rental": _RENTAL_ERRORS,
    "numbers.set_sms_action": _RENTAL_ERRORS,
    "numbers.rent": {
        402: "The balance does not cover the group's setup cost.",
        404: "There is no such group.",
        409: "The group has no free numbers.",
    },
    "messages.send": {
        402: "The balance does not cover the SMS.",
        403: "The sending number's group has no SMS support.",
        404: "The sending number is not one your account rents.",
    },
}
"""The refusals an operation can answer besides the ones every operation with fields
can (401, 400, and 422 with a body), as the reference server answers them."""

TIMESTAMP_NOTE = (
    "A timestamp: ISO 8601, in UTC when it has no offset ('2018-01-01T01:01:01.000000'). "
    "The service's later revision may send '' for none."
)


def result_model(op: Operation[Any, Any, Any]) -> tuple[type[BaseModel], bool] | None:
    """The model a successful answer of `op` holds, and whether it comes as a JSON array.

    None when the answer has no content. The one place that reads how a row names
    its model.
    """
    model = op.result.model()
    if model is None:
        return None
    if not issubclass(model, BaseModel):
        raise TypeError(f"{op.name}: its result is not a model: {model!r}")
    return model, op.result.is_list


def _data_class(model: type[BaseModel]) -> type[BaseModel]:
    """The class holding `model`'s fields: `BaseNumber` for `Number` (its docstring has no
    client in it), `model` itself when it has no such base."""
    for klass in model.__mro__:
        if klass.__name__ == f"Base{model.__name__}" and issubclass(klass, BaseModel):
            return klass
    return model


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, or as list items, or optional), if any."""
    # On Python 3.10 `list[X]` is an instance of `type` that issubclass() refuses, so
    # generic aliases are ruled out first.
    if get_origin(annotation) is None and isinstance(annotation, type):
        klass: type[Any] = annotation
        if issubclass(klass, BaseModel):
            return klass
    for argument in get_args(annotation):
        found = model_in(argument)
        if found is not None:
            return found
    return None


def wire_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names a model reads on the wire (aliases: 'from', 'timestamp')."""
    return frozenset(field.alias or name for name, field in model.model_fields.items())


def documented_fields(model: type[BaseModel]) -> frozenset[str] | None:
    """The fields of the original client's documented shape of `model`, or None (no such shape).

    Read from the documented dicts of `dtmf._documented` (`NumberDict` for `Number`);
    the model's other fields are those of the service's later revision.
    """
    for klass in model.__mro__:
        shape = getattr(_documented, f"{klass.__name__.removeprefix('Base')}Dict", None)
        if shape is not None:
            return frozenset(get_type_hints(shape))
    return None


class _WireSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, with timestamps as the service writes them (not RFC 3339)."""

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        return {"type": "string", "description": TIMESTAMP_NOTE}


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        node: dict[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        yield node
        for item in node.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:  # pyright: ignore[reportUnknownVariableType]
            yield from _walk(item)


def _tidy(schemas: dict[str, Any], renames: Mapping[str, str]) -> None:
    """Rename `BaseNumber` to `Number` (and refs to it); drop a union's repeated branches."""
    for old, new in renames.items():
        if old in schemas:
            schemas[new] = schemas.pop(old)
            schemas[new]["title"] = new
    for node in _walk(schemas):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            node["$ref"] = "#/components/schemas/" + renames.get(name, name)
        branches = node.get("anyOf")
        if isinstance(branches, list):
            unique: list[Any] = []
            for branch in branches:  # pyright: ignore[reportUnknownVariableType]
                if branch not in unique:
                    unique.append(branch)
            node["anyOf"] = unique


def _annotate_dialects(schemas: dict[str, Any], models: Mapping[str, type[BaseModel]]) -> None:
    for name, model in models.items():
        documented = documented_fields(model)
        known = wire_fields(model)
        schema = schemas[name]
        if documented is None:
            schema["x-dtmf-dialects"] = {"documented": None, "later": sorted(known)}
        else:
            schema["x-dtmf-dialects"] = {
                "documented": sorted(documented & known),
                "later": sorted(known - documented),
            }


def _models(
    results: Mapping[str, tuple[type[BaseModel], bool]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(response schema by operation name, components.schemas)."""
    adapters: list[tuple[str, Any, TypeAdapter[Any]]] = []
    renames: dict[str, str] = {"ErrorBody": "Error"}
    for name, (model, many) in results.items():
        data = _data_class(model)
        renames[data.__name__] = model.__name__
        adapters.append(
            (name, "validation", TypeAdapter(list[data] if many else data))  # type: ignore[valid-type]
        )
    adapters.append(("#error", "validation", TypeAdapter(ErrorBody)))
    by_key, top = TypeAdapter.json_schemas(
        adapters, ref_template="#/components/schemas/{model}", schema_generator=_WireSchema
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    responses = {key[0]: value for key, value in by_key.items() if key[0] != "#error"}
    _tidy(schemas, renames)
    _tidy(responses, renames)
    known: dict[str, type[BaseModel]] = {}
    todo = [model for model, _ in results.values()]
    while todo:  # the results' models and the ones they hold (Message, Call)
        model = todo.pop()
        if known.setdefault(model.__name__, model) is model:
            todo += [m for f in model.model_fields.values() if (m := model_in(f.annotation))]
    _annotate_dialects(schemas, {n: m for n, m in known.items() if n in schemas})
    return responses, schemas


_SAME_AS = {"from": "e164"}
"""Wire fields that hold another's value: an SMS is sent from a rented number's e164."""


@functools.lru_cache(maxsize=1)
def _field_schemas() -> dict[str, Any]:
    """The schema of each wire field, beyond what its annotation says."""
    e164 = {"type": "string", "pattern": f"^{E164_PATTERN}$", "examples": ["+447700900123"]}
    return {
        "e164": {**e164, "description": "A number your account rents, E.164."},
        "from": {
            **e164,
            "description": "A number your account rents that supports SMS.",
            "examples": ["+447700900001"],
        },
        "to": {**e164, "description": "The recipient, E.164."},
        "group_id": {
            "type": "string",
            "pattern": f"^{GROUP_ID_PATTERN}$",
            "description": "The id of a group that `groups.list` lists.",
            "examples": ["gb-mobile"],
        },
        "content": {
            "type": "string",
            "minLength": 1,
            "format": SMS_CONTENT_FORMAT,
            "examples": ["Your code is 123456"],
            "description": (
                f"The SMS text: at most {MAX_SMS_LENGTH} characters once rendered to ASCII "
                "('Zürich' is sent as 'Zurich', control characters but newline are dropped), "
                "and not empty then."
            ),
        },
    }


# A character a webhook URL may hold: no white space, no control character.
_URL_CHAR = r"[^\s\x00-\x1f\x7f]"


def _destinations() -> dict[str | None, dict[str, Any]]:
    """What `destination` each SMS action takes (the rule of `_validate.check_sms_action`)."""
    return {
        "forward": {**_field_schemas()["to"], "description": "Forward inbound SMS here."},
        "webhook": {
            "type": "string",
            "format": WEBHOOK_URL_FORMAT,
            "pattern": rf"^[Hh][Tt][Tt][Pp][Ss]?://{_URL_CHAR[:-1]}/?#]+([/?#]{_URL_CHAR}*)?$",
            "description": "POST inbound SMS to this absolute http(s) URL (with a host).",
        },
        None: {"type": "null", "description": "No destination: messages are only stored."},
    }


def _parameter_schema(op: Operation[Any, Any, Any], wire_name: str) -> dict[str, Any]:
    parameter = op.wire_to_parameter[wire_name]
    annotation = get_type_hints(op.signature)[parameter]
    schema: dict[str, Any] = TypeAdapter(annotation).json_schema()
    fields = _field_schemas()
    if wire_name in fields:
        schema = fields[wire_name]
    return schema


def _sms_action_body(op: Operation[Any, Any, Any]) -> dict[str, Any]:
    actions: list[str | None] = [*get_args(SmsActionName), None]
    destinations = _destinations()
    if set(actions) != set(destinations):
        raise RuntimeError(f"{op.name}: destinations for {actions}, have {list(destinations)}")
    branches: list[dict[str, Any]] = []
    for action in actions:
        required = ["action", "destination"] if action is not None else ["action"]
        branches.append(
            {
                "type": "object",
                "properties": {
                    "action": {"const": action},
                    "destination": destinations[action],
                },
                "required": required,
            }
        )
    return {"oneOf": branches}


def _request_body(op: Operation[Any, Any, Any]) -> dict[str, Any] | None:
    if not op.body:
        return None
    if set(op.body) == {"action", "destination"}:
        schema = _sms_action_body(op)
    else:
        schema = {
            "type": "object",
            "properties": {name: _parameter_schema(op, name) for name in op.body},
            "required": [name for name in op.body if name not in op.optional],
        }
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _links(
    op: Operation[Any, Any, Any], results: Mapping[str, tuple[type[BaseModel], bool]]
) -> dict[str, Any]:
    """Links from `op`'s answer to every operation taking one of its fields.

    A field of the same name ('e164', or one `_SAME_AS` names), or `<model>_id` for the
    model's 'id' ('group_id' from a group); from an array, its first item's. A field the
    answer has not, but that the body needs, is its schema's example.
    """
    if op.name not in results:
        return {}
    model, many = results[op.name]
    fields = wire_fields(model)
    where = "/0" if many else ""
    links: dict[str, Any] = {}
    for target in OPERATIONS:
        parameters: dict[str, str] = {}
        body: dict[str, Any] = {}
        for wire_name in target.query + target.body:
            if _SAME_AS.get(wire_name, wire_name) in fields:
                source = _SAME_AS.get(wire_name, wire_name)
            elif wire_name == f"{model.__name__.lower()}_id" and "id" in fields:
                source = "id"
            else:
                continue
            expression = f"$response.body#{where}/{source}"
            if wire_name in target.query:
                parameters[f"query.{wire_name}"] = expression
            else:
                body[wire_name] = expression
        if target is op or not (parameters or body):
            continue
        if body:
            examples = {
                name: _field_schemas().get(name, {}).get("examples", [None])[0]
                for name in target.body
                if name not in body and name not in target.optional
            }
            if None in examples.values():
                continue  # the answer cannot fill the body
            body.update(examples)
        link: dict[str, Any] = {"operationId": target.name}
        if parameters:
            link["parameters"] = parameters
        if body:
            link["requestBody"] = body
        links[target.name] = link
    return links


def _operation(
    op: Operation[Any, Any, Any],
    responses: Mapping[str, Any],
    results: Mapping[str, tuple[type[BaseModel], bool]],
) -> dict[str, Any]:
    corroborated = CORROBORATED.get(op.name)
    description = (
        f"Method and path corroborated by {corroborated}."
        if corroborated
        else "Method and path are this project's choice (not yet corroborated)."
    )
    success: dict[str, Any] = {"description": "Success" if op.result.has_body else "No content"}
    if op.name in responses:
        success["content"] = {"application/json": {"schema": responses[op.name]}}
    links = _links(op, results)
    if links:
        success["links"] = links
    refusals: dict[int, str] = dict(_COMMON_ERRORS)
    if op.query or op.body:
        refusals.update(_FIELD_ERRORS)
    if op.body:
        refusals.update(_BODY_ERRORS)
    refusals.update(ERRORS.get(op.name, {}))
    answers: dict[str, Any] = {str(op.success_status): success}
    for status in sorted(refusals):
        answers[str(status)] = {
            "description": refusals[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    document: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "description": description,
        "tags": [op.name.split(".")[0]],
        "x-dtmf-retry": op.retry.value,
        "x-dtmf-corroborated": corroborated is not None,
    }
    if op.query:
        document["parameters"] = [
            {
                "name": name,
                "in": "query",
                "required": name not in op.optional,
                "schema": _parameter_schema(op, name),
            }
            for name in op.query
        ]
    body = _request_body(op)
    if body is not None:
        document["requestBody"] = body
    document["responses"] = answers
    return document


def _build() -> dict[str, Any]:
    results = {op.name: found for op in OPERATIONS if (found := result_model(op)) is not None}
    responses, schemas = _models(results)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, responses, results)
    corroborated = ", ".join(f"`{name}`" for name in CORROBORATED)
    tags = dict.fromkeys(op.name.split(".")[0] for op in OPERATIONS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DTMF.io API",
            "version": __version__,
            "summary": "Rent phone numbers paid in Bitcoin satoshis, send and receive SMS.",
            "description": (
                "Generated by dtmf-io (`dtmf.testing.openapi()`) from its wire table "
                "(`dtmf/_contract.py`) and its models; its reference server "
                "(`python -m dtmf.testing`) implements it and serves it at "
                f"`{API_PREFIX}/openapi.json`. Costs are integer satoshis in the documented "
                "dialect; the service's later revision sends some as decimal strings, and "
                "every schema accepts both dialects (`x-dtmf-dialects` lists each one's "
                "fields). Unknown fields are allowed. Corroborated by sources independent "
                f"of the project: {corroborated}; the other operations' methods and paths "
                "are the project's choice. `dtmf doctor --contract` checks a live account "
                "against this."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [
            {"url": LIVE_BASE_URL, "description": "The live service"},
            {
                "url": REFERENCE_BASE_URL,
                "description": "The reference server: python -m dtmf.testing (token test-token)",
            },
        ],
        "security": [{"bearer": []}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The account's API token: `Authorization: Bearer <token>`.",
                }
            },
        },
    }


@functools.lru_cache(maxsize=1)
def openapi_json() -> bytes:
    """The document as JSON bytes (built once per process)."""
    return json.dumps(_build(), indent=2, ensure_ascii=False).encode() + b"\n"


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the API, generated from the wire table and the models.

    A fresh dict each call. The reference server serves the same at
    ``GET /api/v1/openapi.json``.
    """
    document: dict[str, Any] = json.loads(openapi_json())
    return document
