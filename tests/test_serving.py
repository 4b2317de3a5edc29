"""HTTP API: endpoints, bad input (never a 500), schema fuzzing, a bounded load test;
streaming prediction; ONNX export parity."""
import asyncio
import itertools
import json
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import httpx
import numpy as np
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from conftest import TOY_TRAIN, TOY_VAL
from mltc.data import make_examples
from mltc.serving.app import create_app, openapi_schema
from mltc.training import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]


def _toy_classifier():
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(tr, va, TrainConfig(epochs=3, optimizer="sgd"))


@pytest.fixture(scope="module")
def clf():
    return _toy_classifier()


@pytest.fixture(scope="module")
def client(clf):
    with TestClient(create_app(clf)) as c:
        yield c


def test_endpoints(client, clf):
    assert client.get("/healthz").json() == {"status": "ok"}
    labels = client.get("/v1/labels").json()
    assert labels["labels"] == clf.labels and labels["train_frequency"]["grain"] == 3
    model = client.get("/v1/model").json()
    assert model["model"] == "tfidf-linear" and model["decision"]["kind"] == "global" and "validation" in model["metrics"]
    r = client.post("/v1/predict", json={"texts": ["wheat grain exports", "crude oil"], "top_k": 2})
    assert r.status_code == 200
    preds = r.json()["predictions"]
    assert [p["labels"] for p in preds] == [p["labels"] for p in clf.predict(["wheat grain exports", "crude oil"], top_k=2)]
    r = client.post("/v1/predict", json={"texts": [""], "return_scores": "all"})
    assert r.status_code == 200 and len(r.json()["predictions"][0]["scores"]) == len(clf.labels)


@pytest.mark.parametrize("body,fragment", [
    ({"texts": []}, "at least 1"),
    ({"texts": "one string"}, "valid list"),
    ({"texts": [3]}, "valid string"),
    ({"texts": ["a"] * 257}, "at most 256"),
    ({"texts": ["a" * 100_001]}, "limit is 100000"),
    ({"texts": ["a"], "threshold": 1.5}, "[0, 1]"),
    ({"texts": ["a"], "threshold": "nan"}, "valid number"),  # strict: a string is not a number
    ({"texts": ["a"], "top_k": 0}, "greater than or equal to 1"),
    ({"texts": ["a"], "top_k": 99}, "at most 7"),
    ({"texts": ["a"], "top_k": 2, "threshold": 0.5}, "not both"),
    ({"texts": ["a"], "colour": "red"}, "Extra inputs"),
    ({"text": "a"}, "Field required"),
])
def test_bad_requests_get_a_clear_4xx(client, body, fragment):
    r = client.post("/v1/predict", json=body)
    assert r.status_code == 422 and fragment in json.dumps(r.json()), r.json()


def test_bad_bodies(client):
    h = {"content-type": "application/json"}
    assert client.post("/v1/predict", content=b'{"texts": ["caf\xe9"]}', headers=h).status_code == 400
    assert client.post("/v1/predict", content=b"{nope", headers=h).status_code == 422
    r = client.post("/v1/predict", content=b"x" * (8 * 1024 * 1024 + 1), headers=h)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    assert client.get("/v1/nothing").status_code == 404


def test_committed_openapi_schema_is_current():
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(openapi_schema(), sort_keys=True))


schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_toy_classifier()))


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_api_from_openapi(case):
    """Generated requests (valid and invalid) never get a 5xx and match the schema."""
    response = case.call()
    assert response.status_code < 500, (case.path, case.body, response.text)
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_bounded_load_on_loopback(clf):
    """16 concurrent clients for 2 s against a real uvicorn server: zero errors, requests batched."""
    import uvicorn
    app = create_app(clf, batch_window_ms=5)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    texts = [t for t, _ in TOY_TRAIN]

    async def client(i: int, stop: float, out: list):
        async with httpx.AsyncClient(base_url=url, timeout=10) as c:
            for k in itertools.count():
                if time.perf_counter() > stop:
                    return
                r = await c.post("/v1/predict", json={"texts": [texts[(i + k) % len(texts)]]})
                out.append(r.status_code)

    async def main():
        out: list = []
        stop = time.perf_counter() + 2.0
        await asyncio.gather(*(client(i, stop, out) for i in range(16)))
        return out

    try:
        codes = asyncio.run(main())
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert len(codes) > 50 and set(codes) == {200}
    assert app.state.batcher.batches < len(codes)  # concurrent requests were scored together


@pytest.mark.slow
def test_serve_binds_loopback_by_default(clf, tmp_path):
    clf.save(tmp_path / "m")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mltc.cli.main", "serve", str(tmp_path / "m"), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        out = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout if _has("ss") else ""
        if out:
            listening = [l for l in out.splitlines() if f":{port} " in l]
            assert listening and all("127.0.0.1:" in l for l in listening), out
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _has(cmd: str) -> bool:
    import shutil
    return shutil.which(cmd) is not None


def test_predict_stream_is_lazy(clf):
    """An endless input works: only one batch is held (a 1,000,000-line file is never read whole)."""
    endless = (f"wheat text {i}" for i in itertools.count())
    got = list(itertools.islice(clf.predict_stream(endless, batch_size=64), 200))
    assert len(got) == 200 and all("labels" in g for g in got)


def test_iter_input_texts_is_lazy(tmp_path):
    from mltc.serving.batch import iter_input_texts
    p = tmp_path / "big.txt"
    with open(p, "w") as fh:
        for i in range(50_000):
            fh.write(f"text {i}\n")
    it = iter_input_texts(str(p))
    assert next(it) == "text 0" and next(it) == "text 1"


@pytest.mark.parametrize("model", [pytest.param("tfidf-linear", marks=pytest.mark.slow), "svm"])
def test_onnx_matches_torch(model, tmp_path):
    import onnxruntime as ort
    from click.testing import CliRunner
    from mltc.cli.main import cli
    from mltc.serving.onnx_export import onnx_inputs
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    m = train(tr, va, TrainConfig(model=model))
    m.save(tmp_path / "m")
    res = CliRunner().invoke(cli, ["export", str(tmp_path / "m"), "--onnx", str(tmp_path / "m.onnx")])
    assert res.exit_code == 0, res.output
    texts = [t for t, _ in TOY_VAL] + ["", "unseen words"]
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    ours = sess.run(None, onnx_inputs(m, texts))[0]
    assert np.allclose(ours, m.scores(texts), atol=1e-5)


def test_onnx_unsupported_model_is_a_clear_error(tmp_path):
    from click.testing import CliRunner
    from mltc.cli.main import cli
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    m = train(tr, tr, TrainConfig(model="textcnn", epochs=1, featurizer_options={"min_count": 1},
                                  network_options={"dim": 8, "filters": 4}))
    m.save(tmp_path / "m")
    res = CliRunner().invoke(cli, ["export", str(tmp_path / "m"), "--onnx", str(tmp_path / "m.onnx")])
    assert res.exit_code != 0 and "supports TF-IDF linear and transformer" in res.output
