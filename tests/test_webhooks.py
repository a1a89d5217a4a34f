"""dtmf.webhooks: parsing the service's POST, and the ASGI and WSGI apps under real servers."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import anyio
import httpx
import pytest
import uvicorn

import dtmf
from dtmf import webhooks
from dtmf.webhooks import WebhookError

SMS: dict[str, Any] = {"id": 1234, "e164": "+1234567890", "sender": "+1234", "content": "SMS text"}
BODY = json.dumps(SMS).encode()


# parse()


def test_parse_bytes_str_and_mapping() -> None:
    expected = dtmf.InboundSMS(id=1234, e164="+1234567890", sender="+1234", content="SMS text")
    assert webhooks.parse(BODY) == expected
    assert webhooks.parse(BODY.decode()) == expected
    assert webhooks.parse(SMS) == expected
    assert webhooks.parse({**SMS, "new_field": 1}).model_extra == {"new_field": 1}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "empty"),
        ("  ", "empty"),
        (b"not json", "not JSON"),
        (b'{"id": 1', "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not an inbound SMS"),
        (json.dumps({"id": 1, "e164": "+1"}).encode(), "sender: Field required"),
        (json.dumps({**SMS, "id": "abc"}).encode(), "id: "),
        (json.dumps({**SMS, "content": 5}).encode(), "content: "),
        ({**SMS, "sender": None}, "sender: "),
    ],
)
def test_parse_rejects_malformed_bodies(body: bytes | str | dict[str, Any], expected: str) -> None:
    with pytest.raises(WebhookError, match=expected) as raised:
        webhooks.parse(body)
    assert isinstance(raised.value, dtmf.DTMFError)
    assert isinstance(raised.value, ValueError)


def test_parse_does_not_echo_the_body() -> None:
    with pytest.raises(WebhookError) as raised:
        webhooks.parse(json.dumps({**SMS, "id": "secret-looking-value"}))
    assert "secret-looking-value" not in str(raised.value)


def test_parse_rejects_other_types() -> None:
    with pytest.raises(WebhookError, match="got int"):
        webhooks.parse(5)  # type: ignore[arg-type]


# reply_text()


def test_reply_text_plain_is_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dtmf.webhooks")
    assert webhooks.reply_text("Thanks!\nSee you") == "Thanks!\nSee you"
    assert caplog.records == []


def test_reply_text_renders_and_cuts_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dtmf.webhooks")
    assert webhooks.reply_text("Zürich costs 5 €") == "Zurich costs 5 EUR"
    assert "transliterated 2 non-ASCII character(s)" in caplog.text
    caplog.clear()
    assert webhooks.reply_text("x" * 200 + "\x07") == "x" * 160
    assert "cut from 200 to 160 characters" in caplog.text
    assert "dropped 1 control character(s)" in caplog.text
    assert all(r.name == "dtmf.webhooks" and r.levelno == logging.WARNING for r in caplog.records)


# The apps under real servers.


@contextmanager
def asgi_server(app: webhooks.ASGIApp) -> Generator[str, None, None]:
    # lifespan="on" fails startup unless the app answers lifespan events.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            assert time.monotonic() < deadline, "uvicorn did not start in time"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextmanager
def wsgi_server(app: webhooks.WSGIApp) -> Generator[str, None, None]:
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


class Calls:
    """A handler that records what it was called with and returns a set reply."""

    def __init__(self, reply: str | None = "Thanks") -> None:
        self.reply = reply
        self.received: list[dtmf.InboundSMS] = []
        self.lock = threading.Lock()

    def __call__(self, sms: dtmf.InboundSMS) -> str | None:
        with self.lock:
            self.received.append(sms)
        return self.reply


Serve = Callable[..., str]


@pytest.fixture(params=["asgi", "wsgi"])
def serve(request: pytest.FixtureRequest) -> Iterator[Serve]:
    """serve(handler, **options) -> base URL of a real server running the app."""
    with_stack: list[Any] = []

    def start(handler: Any, **options: Any) -> str:
        if request.param == "asgi":
            cm = asgi_server(webhooks.asgi_app(handler, **options))
        else:
            cm = wsgi_server(webhooks.wsgi_app(handler, **options))
        url = cm.__enter__()
        with_stack.append(cm)
        return url

    yield start
    for cm in reversed(with_stack):
        cm.__exit__(None, None, None)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def test_reply_is_200_text(serve: Serve, http: httpx.Client) -> None:
    calls = Calls("Thanks, got it")
    response = http.post(serve(calls) + "/hook", content=BODY)
    assert response.status_code == 200
    assert response.text == "Thanks, got it"
    assert response.headers["content-type"].startswith("text/plain")
    assert calls.received == [webhooks.parse(SMS)]


@pytest.mark.parametrize("reply", [None, ""])
def test_no_reply_is_204(serve: Serve, http: httpx.Client, reply: str | None) -> None:
    response = http.post(serve(Calls(reply)) + "/hook", content=BODY)
    assert response.status_code == 204
    assert response.content == b""


def test_bad_body_is_400_with_the_reason(serve: Serve, http: httpx.Client) -> None:
    calls = Calls()
    url = serve(calls)
    response = http.post(url, content=b'{"id": 1}')
    assert response.status_code == 400
    assert "e164: Field required" in response.text
    assert "Traceback" not in response.text
    assert http.post(url, content=b"nope").status_code == 400
    assert calls.received == []


def test_other_methods_are_405(serve: Serve, http: httpx.Client) -> None:
    response = http.get(serve(Calls()) + "/hook")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_body_over_max_body_is_413(serve: Serve, http: httpx.Client) -> None:
    calls = Calls()
    url = serve(calls, max_body=100)
    response = http.post(url, content=json.dumps({**SMS, "content": "x" * 200}).encode())
    assert response.status_code == 413
    assert http.post(url, content=BODY).status_code == 200  # still serving
    assert len(calls.received) == 1


def test_body_over_max_body_without_length_is_counted(http: httpx.Client) -> None:
    # A chunked upload has no Content-Length: the ASGI app counts while reading.
    def chunks() -> Iterator[bytes]:
        yield b'{"id": 1, "e164": "+1", "sender": "+2", "content": "'
        for _ in range(10):
            yield b"x" * 50
        yield b'"}'

    calls = Calls()
    with asgi_server(webhooks.asgi_app(calls, max_body=100)) as url:
        response = http.post(url, content=chunks())
        assert response.status_code == 413
        small = http.post(url, content=iter([BODY[:10], BODY[10:]]))
        assert small.status_code == 200
    assert len(calls.received) == 1


def test_wsgi_body_without_length() -> None:
    # wsgiref does not decode chunked bodies: without wsgi.input_terminated the body
    # cannot be read safely (411); with it, the app reads to the end and counts.
    app = webhooks.wsgi_app(Calls(), max_body=100)
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    def environ(body: bytes, **extra: Any) -> dict[str, Any]:
        return {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "wsgi.input": io.BytesIO(body)} | extra

    app(environ(BODY), start_response)
    app(environ(BODY, **{"wsgi.input_terminated": True}), start_response)
    app(environ(b"x" * 500, **{"wsgi.input_terminated": True}), start_response)
    app(environ(BODY, CONTENT_LENGTH="12x"), start_response)
    app(environ(BODY, CONTENT_LENGTH="\u00b2"), start_response)
    # Only the codes: Python 3.13 renamed 413's phrase to "Content Too Large".
    assert [status.split()[0] for status in statuses] == ["411", "200", "413", "400", "400"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/hook/s3cr3t", 200),
        ("/hook/s3cr3t/", 200),
        ("/hook?secret=s3cr3t", 200),
        ("/hook?other=1&secret=s3cr3t", 200),
        ("/hook", 404),
        ("/hook/wrong", 404),
        ("/hook?secret=wrong", 404),
        ("/s3cr3t/hook", 404),
        ("/hook/s3cr3", 404),
    ],
)
def test_secret(serve: Serve, http: httpx.Client, path: str, status: int) -> None:
    calls = Calls()
    response = http.post(serve(calls, secret="s3cr3t") + path, content=BODY)
    assert response.status_code == status
    assert len(calls.received) == (1 if status == 200 else 0)


def test_wrong_secret_hides_the_endpoint_from_any_method(serve: Serve, http: httpx.Client) -> None:
    url = serve(Calls(), secret="s3cr3t", secret_param="key")
    assert http.get(url + "/hook").status_code == 404  # not 405
    assert http.post(url + "/hook?secret=s3cr3t", content=BODY).status_code == 404
    assert http.post(url + "/hook?key=s3cr3t", content=BODY).status_code == 200


def test_repeated_delivery_gets_the_first_answer(serve: Serve, http: httpx.Client) -> None:
    replies = iter(["first", "second", "third"])
    received: list[int] = []

    def handler(sms: dtmf.InboundSMS) -> str:
        received.append(sms.id)
        return next(replies)

    url = serve(handler)
    assert http.post(url, content=BODY).text == "first"
    assert http.post(url, content=BODY).text == "first"
    assert http.post(url, content=json.dumps({**SMS, "id": 99})).text == "second"
    assert received == [1234, 99]


def test_dedupe_is_bounded(serve: Serve, http: httpx.Client) -> None:
    calls = Calls()
    url = serve(calls, dedupe=2)
    for id in (1, 2, 3, 1):  # 1 was evicted by 3
        http.post(url, content=json.dumps({**SMS, "id": id}))
    assert [sms.id for sms in calls.received] == [1, 2, 3, 1]


def test_dedupe_off(serve: Serve, http: httpx.Client) -> None:
    calls = Calls()
    url = serve(calls, dedupe=0)
    http.post(url, content=BODY)
    http.post(url, content=BODY)
    assert len(calls.received) == 2


def test_long_non_ascii_reply_is_rendered_cut_and_logged(
    serve: Serve, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dtmf.webhooks")
    response = http.post(serve(Calls("€" + "é" * 200)), content=BODY)
    assert response.status_code == 200
    assert response.text == "EUR" + "e" * 157
    assert "cut from 203 to 160 characters" in caplog.text
    assert "transliterated 201 non-ASCII character(s)" in caplog.text


def test_handler_exception_is_500_and_logged(
    serve: Serve, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="dtmf.webhooks")
    calls: list[int] = []

    def broken(sms: dtmf.InboundSMS) -> str:
        calls.append(sms.id)
        raise RuntimeError("database password is hunter2")

    url = serve(broken)
    response = http.post(url, content=BODY)
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    [record] = [r for r in caplog.records if r.name == "dtmf.webhooks"]
    assert record.exc_info is not None
    assert "hunter2" in caplog.text  # the traceback is in the log
    # A failure is not cached: the service's retry runs the handler again.
    assert http.post(url, content=BODY).status_code == 500
    assert calls == [1234, 1234]


def test_handler_returning_a_non_str_is_500(serve: Serve, http: httpx.Client) -> None:
    def handler(sms: dtmf.InboundSMS) -> Any:
        return 42

    assert http.post(serve(handler), content=BODY).status_code == 500


def test_async_handler_under_asgi(http: httpx.Client) -> None:
    async def handler(sms: dtmf.InboundSMS) -> str | None:
        await anyio.sleep(0.01)
        return f"async {sms.content}"

    with asgi_server(webhooks.asgi_app(handler)) as url:
        response = http.post(url, content=BODY)
    assert response.status_code == 200
    assert response.text == "async SMS text"


def test_coroutine_under_wsgi_is_500_without_a_warning(http: httpx.Client) -> None:
    async def handler(sms: dtmf.InboundSMS) -> str:
        return "never"

    with wsgi_server(webhooks.wsgi_app(handler)) as url:  # type: ignore[arg-type]
        assert http.post(url, content=BODY).status_code == 500


@pytest.mark.parametrize(("option", "value"), [("secret", ""), ("max_body", 0), ("dedupe", -1)])
def test_bad_options_are_refused(option: str, value: object) -> None:
    with pytest.raises(dtmf.InvalidParameterError, match=option):
        webhooks.asgi_app(Calls(), **{option: value})  # type: ignore[arg-type]
