"""The command line, end to end, on small files and the real data sets."""
import csv
import functools
import http.server
import json
import tarfile
import threading

import pytest
from click.testing import CliRunner

from conftest import TOY_TRAIN, TOY_VAL
from mltc.cli.main import cli
from mltc.data import load_dataset


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def toy_files(tmp_path):
    def write(name, rows):
        p = tmp_path / name
        with open(p, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["text", "labels"])
            for t, l in rows:
                w.writerow([t, ",".join(l)])
        return str(p)
    return write("train.csv", TOY_TRAIN), write("val.csv", TOY_VAL), write("test.csv", TOY_VAL)


def run(runner, args, code=0, input=None):
    result = runner.invoke(cli, args, input=input, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.mark.slow
def test_stats_reuters_json(runner, data_dir):
    out = run(runner, ["stats", "--data", "reuters21578", "--data-dir", str(data_dir), "--json"]).output
    st = json.loads(out)
    assert st["num_labels"] == 90
    assert st["splits"]["train"]["texts"] + st["splits"]["validation"]["texts"] == 7770
    assert st["splits"]["test"]["texts"] == 3019
    assert {g: v["num_labels"] for g, v in st["groups"].items()} == {"head": 30, "medium": 29, "tail": 31}


@pytest.mark.parametrize("name", ["goemotions", "cail2019-divorce", "cail2019-labor", "cail2019-loan"])
@pytest.mark.slow
def test_stats_other_datasets(runner, data_dir, name):
    out = run(runner, ["stats", "--data", name, "--data-dir", str(data_dir)]).output
    assert "label groups by training frequency" in out and "co-occurrence" in out


@pytest.mark.slow
def test_stats_from_env_data_dir(runner, data_dir, monkeypatch):
    monkeypatch.setenv("MLTC_DATA_DIR", str(data_dir))
    assert "labels: 28" in run(runner, ["stats", "--data", "goemotions"]).output


def test_train_predict_evaluate(runner, toy_files, tmp_path):
    tr, va, te = toy_files
    out = tmp_path / "run"
    res = run(runner, ["train", "--train", tr, "--validation", va, "--test", te, "--loss", "db",
                       "--out", str(out)])
    assert "validation micro-F1" in res.output and "total" in res.output
    assert (out / "model" / "model.safetensors").exists() and (out / "evaluation.json").exists()
    pred = run(runner, ["predict", str(out / "model"), "-", "--top-k", "2"], input="wheat grain\ncrude oil\n\n").output
    rows = [json.loads(l) for l in pred.splitlines()]
    assert len(rows) == 3 and all(len(r["labels"]) == 2 for r in rows)
    pred = run(runner, ["predict", str(out), "-", "--input-format", "jsonl", "--all-scores"],
               input=json.dumps({"text": "tab\there\nnewline"}) + "\n").output
    (row,) = [json.loads(l) for l in pred.splitlines()]
    assert len(row["scores"]) == 7
    rep = json.loads(run(runner, ["evaluate", str(out), "--test", te, "--json"]).output)
    assert set(rep) >= {"total", "groups", "by_num_labels", "per_label", "ranking", "confused_pairs"}


def test_predict_to_file_and_bad_input(runner, toy_files, tmp_path):
    tr, va, _ = toy_files
    out = tmp_path / "run"
    run(runner, ["train", "--train", tr, "--validation", va, "--out", str(out)])
    src = tmp_path / "in.txt"
    src.write_bytes(b"good text\nbad \xff byte\n")
    res = runner.invoke(cli, ["predict", str(out), str(src), "-o", str(tmp_path / "p.jsonl")])
    assert res.exit_code == 2 and "in.txt:2: not valid utf-8" in res.output
    assert not (tmp_path / "p.jsonl").exists()  # nothing half-written under the final name


def test_config_file_and_flags(runner, toy_files, tmp_path):
    tr, va, _ = toy_files
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('loss = "focal"\nseed = 5\n[decision_options]\nmin_labels = 1\n')
    out = tmp_path / "run"
    run(runner, ["train", "--train", tr, "--validation", va, "--config", str(cfg), "--seed", "9", "--out", str(out)])
    saved = json.loads((out / "model" / "config.json").read_text())
    assert saved["loss"] == "focal" and saved["seed"] == 9 and saved["decision_options"]["min_labels"] == 1
    yml = tmp_path / "cfg.yaml"
    yml.write_text("loss: db\nepochz: 3\n")
    res = runner.invoke(cli, ["train", "--train", tr, "--validation", va, "--config", str(yml), "--out", str(out)])
    assert res.exit_code == 2 and "epochz" in res.output


def test_malformed_training_file(runner, tmp_path, toy_files):
    _, va, _ = toy_files
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabels\nfine\ta\ntoo\tmany\tfields\n")
    res = runner.invoke(cli, ["train", "--train", str(bad), "--validation", va, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "bad.tsv:3" in res.output


def test_compare_writes_tables(runner, toy_files, tmp_path):
    tr, va, te = toy_files
    out = tmp_path / "cmp"
    res = run(runner, ["compare", "--train", tr, "--validation", va, "--test", te, "--rows", "svm,bce,db,zlpr",
                       "--out", str(out)])
    assert "| SVM |" in res.output and "| DB |" in res.output and "| ZLPR |" in res.output
    for f in ("table2.md", "table2.csv", "table3.md", "table3.csv", "results.json"):
        assert (out / f).exists(), f
    results = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in results["rows"]] == ["svm", "bce", "db", "zlpr"]
    assert results["rows"][3]["decision"]["kind"] == "fixed"


@pytest.mark.slow
def test_download_from_local_server(runner, data_dir, tmp_path):
    """`datasets download` against a loopback HTTP server serving a tarball of the shared copy."""
    archive = tmp_path / "serve" / "reuters21578.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for f in sorted((data_dir / "reuters21578").iterdir()):
            if f.suffix in (".sgm", ".txt", ".dtd"):
                tar.add(f, arcname=f.name)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(archive.parent))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/reuters21578.tar.gz"
        target = tmp_path / "data"
        run(runner, ["datasets", "download", "reuters21578", "--data-dir", str(target), "--url", url])
        d = load_dataset("reuters21578", target)
        assert len(d.train) + len(d.validation) == 7770 and len(d.test) == 3019
        res = runner.invoke(cli, ["datasets", "download", "reuters21578", "--data-dir", str(target), "--url", url])
        assert res.exit_code == 2 and "exists" in res.output
        res = runner.invoke(cli, ["datasets", "download", "reuters21578", "--data-dir", str(tmp_path / "d2"),
                                  "--url", url, "--sha256", "0" * 64])
        assert res.exit_code == 2 and "checksum mismatch" in res.output
    finally:
        server.shutdown()
