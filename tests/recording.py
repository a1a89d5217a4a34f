"""How cassettes are recorded and replayed (vcrpy), and what is kept out of them.

Cassettes hold real HTTP conversations with the project's reference server
(`dtmf.testing`), or with the live service when re-recorded with a live token.
The Authorization header is removed twice over: by vcrpy's `filter_headers` and
again in `before_record_request`, since `filter_headers` alone has leaked in some
modes (vcrpy#961).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import vcr

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
REPLAY_BASE_URL = "http://127.0.0.1:9/api/v1"  # never contacted: replay serves it
SECRET_HEADERS = ("authorization", "cookie", "set-cookie", "x-api-key")


def _scrub_request(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS:
            del request.headers[name]
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS or name.lower() == "date":
            del headers[name]
    return response


def recorder(record_mode: str) -> vcr.VCR:
    """A VCR that matches requests on what the SDK controls, not on host or port."""
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=record_mode,
        match_on=["method", "path", "query", "raw_body"],
        filter_headers=list(SECRET_HEADERS),
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )
