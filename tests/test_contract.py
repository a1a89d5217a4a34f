"""The wire table's fixed points: what the live service's own page shows."""

from __future__ import annotations

from dtmf._contract import OPERATIONS, get_number, send_message


def test_the_two_endpoints_known_from_the_live_service() -> None:
    # dtmf.io/api: GET /api/v1/number?e164=... and POST /api/v1/message -> 204.
    assert (get_number.method, get_number.path, get_number.query) == ("GET", "/number", ("e164",))
    assert (send_message.method, send_message.path) == ("POST", "/message")
    assert send_message.body == ("from", "to", "content")
    assert send_message.success_status == 204


def test_operation_names_and_routes_are_unique() -> None:
    assert len({op.name for op in OPERATIONS}) == len(OPERATIONS)
    assert len({(op.method, op.path) for op in OPERATIONS}) == len(OPERATIONS)
