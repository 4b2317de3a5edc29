"""Batch prediction throughput, streaming memory, and HTTP latency under load, for the
default CPU model beside a plain scikit-learn pipeline doing the same work on the same texts.

    python benchmarks/bench_serving.py       # writes benchmarks/results/serving.{json,md}

- batch: texts/s of ``Classifier.predict`` (TF-IDF linear, fitted decision) vs a
  scikit-learn ``Pipeline(TfidfVectorizer, OneVsRestClassifier(LinearSVC))`` predicting the
  same Reuters test texts;
- streaming: peak memory of ``mltc predict`` over 100,000 and 1,000,000 lines (constant memory
  means the ratio stays near 1);
- server: a bounded load test on 127.0.0.1 (C concurrent clients, D seconds, one text per
  request) against ``mltc serve`` and against a minimal FastAPI app around the scikit-learn
  pipeline; throughput and p50/p99 latency, errors counted.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import httpx
import numpy as np

from mltc.data import load_dataset
from mltc.io import atomic_write_text, write_json
from mltc.training import TrainConfig, train

ROOT = Path(__file__).resolve().parent
SKLEARN_APP = textwrap.dedent('''
    import json, sys, numpy as np
    from fastapi import FastAPI
    from pydantic import BaseModel
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC
    data = json.load(open(sys.argv[1]))
    mlb = MultiLabelBinarizer()
    Y = mlb.fit_transform(data["labels"]).astype(np.int32)
    pipe = make_pipeline(TfidfVectorizer(), OneVsRestClassifier(LinearSVC())).fit(data["texts"], Y)
    app = FastAPI()
    class Req(BaseModel):
        texts: list[str]
    @app.post("/v1/predict")
    def predict(req: Req):
        s = pipe.decision_function(req.texts)
        return {"predictions": [{"labels": [mlb.classes_[j] for j in np.flatnonzero(r > 0)]} for r in s]}
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            httpx.post(url + "/v1/predict", json={"texts": ["warm up"]}, timeout=5)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(url)


def load_test(url: str, texts: list[str], concurrency: int, seconds: float) -> dict:
    async def client(i: int, stop: float, lat: list, errors: list):
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:
            k = i
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    r = await c.post("/v1/predict", json={"texts": [texts[k % len(texts)]]})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                (lat if ok else errors).append(time.perf_counter() - t0)
                k += concurrency

    async def main():
        lat: list = []
        errors: list = []
        start = time.perf_counter()
        await asyncio.gather(*(client(i, start + seconds, lat, errors) for i in range(concurrency)))
        return lat, errors, time.perf_counter() - start

    lat, errors, elapsed = asyncio.run(main())
    a = np.array(lat) * 1000
    return {"requests": len(lat), "errors": len(errors), "throughput_rps": round(len(lat) / elapsed, 1),
            "p50_ms": round(float(np.percentile(a, 50)), 2), "p99_ms": round(float(np.percentile(a, 99)), 2)}


def peak_rss_of_predict(model: Path, lines: int, tmp: Path) -> dict:
    src = tmp / f"in-{lines}.txt"
    with open(src, "w") as fh:
        for i in range(lines):
            fh.write(f"wheat and corn exports rose {i} tonnes said the ministry\n")
    script = ("import resource, subprocess, sys, time; t=time.time(); "
              "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.time()-t)")
    out = subprocess.run([sys.executable, "-c", script, sys.executable, "-m", "mltc.cli.main", "predict", str(model),
                          str(src), "-o", str(tmp / "out.jsonl"), "--batch-size", "1024"],
                         capture_output=True, text=True, check=True).stdout.split()
    src.unlink()
    return {"lines": lines, "peak_rss_mb": round(int(out[0]) / 1024, 1), "seconds": round(float(out[1]), 1),
            "texts_per_s": round(lines / float(out[1]), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.environ.get("MLTC_DATA_DIR", str(ROOT.parent.parent / "shared" / "datasets")))
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--stream-lines", default="100000,1000000")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    data = load_dataset("reuters21578", args.data_dir)
    tmp = Path(tempfile.mkdtemp(prefix="mltc-bench-"))
    clf = train(data.train, data.validation, TrainConfig(loss="ntr-fl"), labels=data.labels)
    model = clf.save(tmp / "model")
    texts = [e.text for e in data.test]
    results: dict = {}

    # batch prediction: the same texts through both
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC
    mlb = MultiLabelBinarizer()
    Y = mlb.fit_transform([e.labels for e in data.train]).astype(np.int32)
    pipe = make_pipeline(TfidfVectorizer(), OneVsRestClassifier(LinearSVC())).fit([e.text for e in data.train], Y)
    batch_texts = texts * 5
    for name, fn in [("mltc", lambda: clf.predict(batch_texts, batch_size=1024)),
                     ("sklearn", lambda: pipe.decision_function(batch_texts) > 0)]:
        fn()
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        results.setdefault("batch", {})[name] = {"texts": len(batch_texts), "seconds": round(dt, 3),
                                                 "texts_per_s": round(len(batch_texts) / dt, 1)}
        print("batch", name, results["batch"][name], flush=True)

    # streaming memory
    results["streaming"] = [peak_rss_of_predict(model, int(n), tmp) for n in args.stream_lines.split(",")]
    print("streaming", results["streaming"], flush=True)

    # servers under load
    import json as _json
    (tmp / "train.json").write_text(_json.dumps({"texts": [e.text for e in data.train],
                                                 "labels": [list(e.labels) for e in data.train]}))
    (tmp / "sk_app.py").write_text(SKLEARN_APP)
    servers = {
        "mltc": [sys.executable, "-m", "mltc.cli.main", "serve", str(model), "--log-level", "warning", "--port"],
        "sklearn+fastapi": [sys.executable, str(tmp / "sk_app.py"), str(tmp / "train.json")],
    }
    for name, cmd in servers.items():
        port = free_port()
        server_log = open(tmp / f"{name}.log", "w")
        proc = subprocess.Popen(cmd + [str(port)], stdout=server_log, stderr=subprocess.STDOUT, text=True)
        try:
            wait_up(f"http://127.0.0.1:{port}", proc)
            res = load_test(f"http://127.0.0.1:{port}", texts, args.concurrency, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            server_log.close()
        results.setdefault("server", {})[name] = {**res, "concurrency": args.concurrency, "seconds": args.seconds}
        print("server", name, res, flush=True)

    b, s = results["batch"], results["server"]
    stream = results["streaming"]
    meta = {"command": "python benchmarks/bench_serving.py", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "model": "tfidf-linear, loss ntr-fl, trained on Reuters (6,770 texts)"}
    write_json(ROOT / "results" / "serving.json", {"meta": meta, **results})
    md = ["# Serving and batch prediction (Reuters test texts)", "", f"Command: `{meta['command']}`; {meta['machine']}; "
          f"model: {meta['model']}. The scikit-learn side is "
          "`Pipeline(TfidfVectorizer(), OneVsRestClassifier(LinearSVC()))`.", "",
          "| batch prediction | texts | texts/s | ratio |", "|---|---|---|---|"]
    for name, r in b.items():
        md.append(f"| {name} | {r['texts']} | {r['texts_per_s']:.0f} | {r['texts_per_s'] / b['sklearn']['texts_per_s']:.2f}x |")
    md += ["", "| `mltc predict` streaming | lines | peak RSS (MB) | texts/s |", "|---|---|---|---|"]
    md += [f"| | {r['lines']:,} | {r['peak_rss_mb']} | {r['texts_per_s']:.0f} |" for r in stream]
    md += ["", f"Peak memory ratio {stream[-1]['lines']:,} / {stream[0]['lines']:,} lines: "
               f"{stream[-1]['peak_rss_mb'] / stream[0]['peak_rss_mb']:.2f}x.", "",
           f"| server (127.0.0.1, {args.concurrency} clients, {args.seconds:.0f}s, 1 text/request) "
           "| requests | errors | req/s | p50 ms | p99 ms |",
           "|---|---|---|---|---|---|"]
    for name, r in s.items():
        md.append(f"| {name} | {r['requests']} | {r['errors']} | {r['throughput_rps']} | {r['p50_ms']} | {r['p99_ms']} |")
    atomic_write_text(ROOT / "results" / "serving.md", "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
