"""The SDK's token on top of an http client's own `auth=`.

An `http_client` of yours keeps its auth flow (a signing scheme, say), but the
`Authorization` header the API reads is the SDK's: set again on every request the
flow sends, after the flow has had its say.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx

__all__ = ["on_top"]


class _TokenOnTop(httpx.Auth):
    """`auth`'s flow, each of its requests carrying `authorization`."""

    def __init__(self, auth: httpx.Auth, authorization: str) -> None:
        self._auth = auth
        self._authorization = authorization
        self.requires_request_body = auth.requires_request_body
        self.requires_response_body = auth.requires_response_body

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self._auth.sync_auth_flow(request)
        sent = next(flow)
        while True:
            sent.headers["Authorization"] = self._authorization
            response = yield sent
            try:
                sent = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self._auth.async_auth_flow(request)
        sent = await anext(flow)
        while True:
            sent.headers["Authorization"] = self._authorization
            response = yield sent
            try:
                sent = await flow.asend(response)
            except StopAsyncIteration:
                return


def on_top(http: httpx.Client | httpx.AsyncClient, request: httpx.Request) -> Any:
    """What to pass as `send(auth=...)`: the client's default (`httpx.USE_CLIENT_DEFAULT`,
    whose class httpx does not export), unless the client has an auth."""
    auth = http.auth
    if auth is None:
        return httpx.USE_CLIENT_DEFAULT
    return _TokenOnTop(auth, request.headers["Authorization"])
