"""The token stays secret, plain http stays local, redirects are refused, clients get closed."""

from __future__ import annotations

import asyncio
import copy
import gc
import logging
import pickle
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import dtmf
from dtmf._core import Token

from .conftest import ARGS, BASE_URL, OPS, TOKEN, MockClient, success
from .test_retries import FAULTS


def _texts(error: BaseException) -> Iterator[str]:
    """Everything an exception shows, down its chain."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield from (repr(arg) for arg in current.args)
        request = getattr(current, "request", None)
        if isinstance(request, httpx.Request):
            yield repr(request)
            yield repr(request.headers)
        current = current.__cause__ or current.__context__


def test_token_not_in_repr_of_client(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(lambda request: success("account.get"), kind)
    client = harness.client
    shown = [
        repr(client),
        str(client),
        repr(client._options),
        repr(client.numbers),
        repr(client.with_options(max_retries=0)),
        repr([getattr(client._requester, name) for name in client._requester.__slots__]),
    ]
    for text in shown:
        assert TOKEN not in text


def test_token_is_sent(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(lambda request: success("account.get"), kind)
    harness.call("account.get")
    assert harness.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_token_nowhere_in_errors_or_logs(
    mock_client: MockClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole fault matrix, both clients, with every logger at DEBUG."""
    errors: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        for kind in ("sync", "async"):
            for name in OPS:
                for fault in FAULTS:
                    harness = mock_client(fault.make, kind)
                    try:
                        harness.call(name, *ARGS[name])
                    except dtmf.DTMFError as exc:
                        errors.append(exc)
                    # And redirects, and bad bodies.
                    for respond in (
                        lambda request: httpx.Response(
                            302, headers={"Location": "https://x.example"}
                        ),
                        lambda request, name=name: httpx.Response(
                            OPS[name].success_status, text="<html>"
                        ),
                    ):
                        other = mock_client(respond, kind)
                        try:
                            other.call(name, *ARGS[name])
                        except dtmf.DTMFError as exc:
                            errors.append(exc)
    assert len(errors) > 2 * len(OPS) * len(FAULTS)
    for error in errors:
        for text in _texts(error):
            assert TOKEN not in text
    assert caplog.records, "nothing was logged"
    assert any(r.name == "dtmf" and r.levelno == logging.DEBUG for r in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.args)
        assert TOKEN not in (record.exc_text or "")
    assert TOKEN not in caplog.text


def test_token_object() -> None:
    token = Token(TOKEN)
    assert TOKEN not in repr(token)
    assert TOKEN not in str(token)
    assert TOKEN not in f"{token}"
    assert token.reveal() == TOKEN
    with pytest.raises(TypeError) as caught:
        pickle.dumps(token)
    assert TOKEN not in str(caught.value)
    with pytest.raises(TypeError):
        copy.deepcopy(token)


def test_client_does_not_pickle(mock_client: MockClient) -> None:
    harness = mock_client(lambda request: success("account.get"))
    with pytest.raises(Exception) as caught:  # noqa: PT011 - any refusal will do
        pickle.dumps(harness.client)
    for text in _texts(caught.value):
        assert TOKEN not in text


@pytest.mark.parametrize(
    "bad",
    [
        "has space",
        "tab\there",
        "new\nline",
        "t\u00f6k\u00e9n-non-ascii",
        "\u200bzero-width",
        "",
    ],
)
def test_bad_tokens_are_refused_without_showing_them(no_env: None, bad: str) -> None:
    with pytest.raises(dtmf.ConfigurationError) as caught:
        dtmf.Client(bad, base_url=BASE_URL)
    if bad:
        assert bad not in str(caught.value)


@pytest.mark.parametrize("bad", [b"bytes-token", 12345, ["list"]])
def test_non_str_token(bad: Any) -> None:
    with pytest.raises(dtmf.ConfigurationError):
        dtmf.Client(bad, base_url=BASE_URL)


# Plain http


NOT_LOOPBACK = [
    "http://dtmf.io/api/v1",
    "http://10.0.0.1/api/v1",
    "http://192.168.1.1:8000",
    "http://localhost.evil.example/api",
    "http://127.0.0.1.nip.io/api",
    "http://[2001:db8::1]/api",
    "http://0.0.0.0/api",
]

LOOPBACK = [
    "http://127.0.0.1/api/v1",
    "http://127.0.0.1:8000/api/v1",
    "http://127.8.9.10/api/v1",
    "http://localhost/api/v1",
    "http://LOCALHOST:5000",
    "http://[::1]:8000/api/v1",
]


@pytest.mark.parametrize("url", NOT_LOOPBACK)
@pytest.mark.parametrize("client_class", [dtmf.Client, dtmf.AsyncClient])
def test_plain_http_to_another_host_is_refused(url: str, client_class: type[Any]) -> None:
    with pytest.raises(dtmf.ConfigurationError) as caught:
        client_class(TOKEN, base_url=url)
    assert "allow_http" in str(caught.value)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("url", NOT_LOOPBACK)
def test_allow_http(url: str) -> None:
    with dtmf.Client(TOKEN, base_url=url, allow_http=True) as client:
        assert client.base_url == url.rstrip("/")


@pytest.mark.parametrize("url", LOOPBACK)
def test_plain_http_to_loopback_is_fine(url: str) -> None:
    with dtmf.Client(TOKEN, base_url=url) as client:
        assert client.base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://dtmf.io/api",
        "dtmf.io/api/v1",
        "https://",
        "/api/v1",
        "https://[::1",
        "http://x\x00y/",
    ],
)
def test_not_a_base_url(url: str) -> None:
    with pytest.raises(dtmf.ConfigurationError):
        dtmf.Client(TOKEN, base_url=url, allow_http=True)


def test_missing_token(no_env: None) -> None:
    for client_class in (dtmf.Client, dtmf.AsyncClient):
        with pytest.raises(dtmf.ConfigurationError) as caught:
            client_class(base_url=BASE_URL)
        assert "DTMF_TOKEN" in str(caught.value)
    with pytest.raises(dtmf.ConfigurationError):
        dtmf.DTMF(None, base_url=BASE_URL)  # type: ignore[arg-type]


def test_environment(monkeypatch: pytest.MonkeyPatch, no_env: None) -> None:
    monkeypatch.setenv("DTMF_TOKEN", "env-token")
    monkeypatch.setenv("DTMF_BASE_URL", "http://127.0.0.1:9/env/v1/")
    sent: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return success("account.get")

    with (
        httpx.Client(transport=httpx.MockTransport(respond)) as http,
        dtmf.Client(http_client=http) as client,
    ):
        assert client.base_url == "http://127.0.0.1:9/env/v1"
        client.account.get()
        with dtmf.Client("explicit", base_url=BASE_URL, http_client=http) as explicit:
            explicit.account.get()
    assert sent[0].headers["authorization"] == "Bearer env-token"
    assert str(sent[0].url) == "http://127.0.0.1:9/env/v1/account"
    assert sent[1].headers["authorization"] == "Bearer explicit"
    assert sent[1].url.host == "localhost"


def test_env_base_url_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTMF_BASE_URL", "http://dtmf.io/api/v1")
    with pytest.raises(dtmf.ConfigurationError):
        dtmf.Client(TOKEN)


# Redirects


def test_redirect_target_never_sees_the_token(mock_client: MockClient, kind: str) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.host != "localhost":
            return success("account.get")  # the attacker would happily answer
        return httpx.Response(302, headers={"Location": "https://evil.example/api/v1/account"})

    harness = mock_client(respond, kind)
    with pytest.raises(dtmf.UnexpectedRedirectError) as caught:
        harness.call("account.get")
    assert "evil.example" in str(caught.value)
    assert [request.url.host for request in harness.requests] == ["localhost"]


# Closing


def _collect() -> None:
    gc.collect()  # one pass: a client holds no reference cycle, this only proves it


@pytest.mark.parametrize("client_class", [dtmf.Client, dtmf.AsyncClient])
def test_unclosed_client_warns(client_class: type[Any]) -> None:
    client = client_class(TOKEN, base_url=BASE_URL)
    with pytest.warns(ResourceWarning, match="never closed"):
        del client  # at once: a client holds no reference cycle


def test_closed_clients_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        client = dtmf.Client(TOKEN, base_url=BASE_URL)
        client.close()
        client.close()  # idempotent
        with dtmf.Client(TOKEN, base_url=BASE_URL) as in_block:
            view = in_block.with_options(max_retries=0)
        async_client = dtmf.AsyncClient(TOKEN, base_url=BASE_URL)
        asyncio.run(async_client.aclose())
        del client, in_block, view, async_client
        _collect()


def test_client_with_own_http_client_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with httpx.Client() as http:
            client = dtmf.Client(TOKEN, base_url=BASE_URL, http_client=http)
            del client
            _collect()


def test_compat_object_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        old_style = dtmf.DTMF(TOKEN, base_url=BASE_URL)
        assert TOKEN not in repr(old_style)
        del old_style
        _collect()


def test_closed_client_refuses_calls(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(lambda request: success("account.get"), kind)
    harness.close()
    assert harness.client.is_closed
    assert "closed" in repr(harness.client)
    with pytest.raises(dtmf.ClientClosedError):
        harness.call("account.get")
    assert harness.attempts == 0


def test_compat_client_outlives_its_wrapper() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        client = dtmf.DTMF(TOKEN, base_url=BASE_URL).client  # the wrapper is collected here
        _collect()
        assert not client.is_closed
        client.close()


def test_pickled_errors_carry_no_token() -> None:
    request = httpx.Request(
        "GET", f"{BASE_URL}/account", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    response = httpx.Response(500, json={"message": "boom"}, request=request)
    error = dtmf.InternalServerError(
        "account.get: HTTP 500", operation="account.get", response=response
    )
    data = pickle.dumps(error)
    assert TOKEN.encode() not in data
    copy_ = pickle.loads(data)
    assert (copy_.status_code, copy_.server_message, copy_.request) == (500, None, None)


def test_plain_http_ignores_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy would carry the token in clear text across the network.
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("ALL_PROXY", "http://proxy.example:3128")
    with dtmf.Client(TOKEN, base_url="http://127.0.0.1:9/api/v1") as client:
        assert not client._http._mounts  # pyright: ignore[reportPrivateUsage]
    with dtmf.Client(TOKEN, base_url="https://dtmf.io/api/v1") as client:
        assert client._http._mounts  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize(
    "option", [{"verify": False}, {"proxy": "http://p:1"}, {"trust_env": False}]
)
def test_network_options_with_own_http_client_are_refused(option: dict[str, Any]) -> None:
    with httpx.Client() as http, pytest.raises(dtmf.ConfigurationError, match="http_client"):
        dtmf.Client(TOKEN, base_url=BASE_URL, http_client=http, **option)


def test_suffixed_localhost_is_not_loopback() -> None:
    with pytest.raises(dtmf.ConfigurationError, match="plain http"):
        dtmf.Client(TOKEN, base_url="http://evil.localhost/api/v1")


def test_upper_case_http_scheme_is_still_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    with dtmf.Client(TOKEN, base_url="HTTP://127.0.0.1:9/api/v1") as client:
        assert client.base_url == "http://127.0.0.1:9/api/v1"
        assert not client._http._mounts  # pyright: ignore[reportPrivateUsage]
    with pytest.raises(dtmf.ConfigurationError, match="plain http"):
        dtmf.Client(TOKEN, base_url="HTTP://dtmf.io/api/v1")


def test_a_dropped_compat_object_closes_its_pool() -> None:
    old_style = dtmf.DTMF(TOKEN, base_url=BASE_URL)
    http = old_style.client._http  # pyright: ignore[reportPrivateUsage]
    assert repr(old_style.client).startswith("<dtmf.Client ")
    del old_style
    _collect()
    assert http.is_closed
