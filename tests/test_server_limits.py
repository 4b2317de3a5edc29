"""The server never waits forever and refuses what the schema refuses.

Loopback only (127.0.0.1), bounded loops, servers stopped by the tests themselves.
"""
import json
import socket
import threading
import time
import warnings

import pytest
from fastapi.testclient import TestClient

from conftest import TOY_TRAIN, TOY_VAL
from mltc.data import make_examples
from mltc.serving.app import create_app, openapi_schema, server_config
from mltc.training import TrainConfig, train


@pytest.fixture(scope="module")
def clf():
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(tr, va, TrainConfig())


@pytest.fixture(scope="module")
def client(clf):
    with TestClient(create_app(clf)) as c:
        yield c


@pytest.fixture(scope="module")
def live(clf):
    """A real uvicorn server on 127.0.0.1 with short timeouts: 1 s per read, 2 s per body."""
    import uvicorn
    app = create_app(clf, read_timeout_s=1.0, body_timeout_s=2.0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = server_config(app, "127.0.0.1", port, "warning", read_timeout_s=1.0)
    server = uvicorn.Server(cfg)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _closed_within(socks: list[socket.socket], seconds: float) -> list[bytes]:
    """Read every socket until the server closes it; fail if one is still open after ``seconds``."""
    deadline = time.monotonic() + seconds
    got = [b""] * len(socks)
    open_ = set(range(len(socks)))
    for s in socks:
        s.settimeout(0.05)
    while open_ and time.monotonic() < deadline:
        for i in list(open_):
            try:
                data = socks[i].recv(4096)
            except socket.timeout:
                continue
            except ConnectionError:
                data = b""
            if data:
                got[i] += data
            else:
                open_.discard(i)
    for s in socks:
        s.close()
    assert not open_, f"{len(open_)} of {len(socks)} connections still open after {seconds} s"
    return got


def test_short_body_with_larger_content_length_is_closed(live):
    head = (b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{\"texts\": [")
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", live), timeout=5)
        s.sendall(head)
        socks.append(s)
    started = time.monotonic()
    replies = _closed_within(socks, 8.0)
    assert time.monotonic() - started < 8.0
    assert all(r.startswith(b"HTTP/1.1 408") for r in replies), replies[:2]
    assert b"not received in time" in replies[0]


@pytest.mark.slow
def test_stalled_headers_are_closed(live):
    socks = []
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", live), timeout=5)
        s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        socks.append(s)
    _closed_within(socks, 6.0)
    silent = socket.create_connection(("127.0.0.1", live), timeout=5)  # says nothing at all
    _closed_within([silent], 6.0)


def test_server_still_answers_after_stalls(live):
    import httpx
    r = httpx.post(f"http://127.0.0.1:{live}/v1/predict", json={"texts": ["wheat"]}, timeout=10)
    assert r.status_code == 200 and r.json()["predictions"]


def test_chunked_oversize_body_is_413(client):
    def fifty_megabytes():
        chunk = b" " * (1024 * 1024)
        for _ in range(50):
            yield chunk

    r = client.post("/v1/predict", content=fifty_megabytes(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_chunked_small_body_still_works(client):
    def parts():
        yield b'{"texts": '
        yield b'["wheat grain"]}'

    r = client.post("/v1/predict", content=parts(), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("body", [
    {"texts": ["a"], "threshold": True},
    {"texts": ["a"], "threshold": False},
    {"texts": ["a"], "threshold": "0.5"},
    {"texts": ["a"], "top_k": True},
    {"texts": ["a"], "top_k": "2"},
    {"texts": ["a"], "top_k": 2.0},
])
def test_no_coercion_of_booleans_and_strings(client, body):
    r = client.post("/v1/predict", json=body)
    assert r.status_code == 422, r.json()


def test_integer_threshold_is_a_number(client):
    assert client.post("/v1/predict", json={"texts": ["a"], "threshold": 1}).status_code == 200


def test_threshold_and_top_k_together_match_the_schema(client):
    r = client.post("/v1/predict", json={"texts": ["a"], "threshold": 0.5, "top_k": 2})
    assert r.status_code == 422 and "not both" in json.dumps(r.json())
    assert client.post("/v1/predict", json={"texts": ["a"], "threshold": None, "top_k": 2}).status_code == 200
    schema = openapi_schema()
    req = schema["components"]["schemas"]["PredictRequest"]
    assert req["not"]["required"] == ["threshold", "top_k"]  # the schema says: not both
    assert "at most one of threshold and top_k" in req["description"]
    assert "422" in schema["paths"]["/v1/predict"]["post"]["responses"]
    assert "408" in schema["paths"]["/v1/predict"]["post"]["responses"]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_threshold_is_422(client, literal):
    body = b'{"texts": ["a"], "threshold": ' + literal + b"}"
    r = client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "finite" in r.text, r.text


def test_live_chunked_50mb_body_is_413(live):
    """Over a real socket: a chunked body is cut off at the byte limit (8 MiB) with 413, not read to the end."""
    c = socket.create_connection(("127.0.0.1", live), timeout=5)
    c.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"
    reply, sent = b"", 0
    c.settimeout(0.01)
    try:
        while sent < 50 and not reply:
            c.sendall(chunk)
            sent += 1
            try:
                reply = c.recv(65536)
            except socket.timeout:
                pass
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were still sending
    c.settimeout(5)
    try:
        while b"\r\n\r\n" not in reply:
            more = c.recv(65536)
            if not more:
                break
            reply += more
    finally:
        c.close()
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < 50  # refused while streaming, not after reading 50 MB
