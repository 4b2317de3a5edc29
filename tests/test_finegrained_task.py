"""Fine-grained (graded) models through the task seam (issue 10): one Classifier, one trainer,
one loader, served and exported like multi-label models; options the graded task cannot
honour are refused before any work, never recorded and ignored."""
import json
import warnings

import numpy as np
import pytest
import schemathesis
import torch
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

import mltc
from mltc.cli.main import cli
from mltc.data.graded import GradedExample
from mltc.options import OptionError
from mltc.tasks import TASKS, GradedTask, MultiLabelTask, OverrideRefused
from mltc.training import TrainConfig, train
from mltc.training import trainer as trainer_mod

ASPECTS = ["love", "joy", "surprise", "anger", "fear", "sorrow"]
LEVELS = ["none", "weak", "medium", "strong"]
ROWS = [("I love this and it makes me so happy", "2,3,0,0,0,0"), ("what a surprise", "0,1,3,0,0,0"),
        ("this makes me angry and afraid", "0,0,0,3,2,0"), ("so sad and sorry", "0,0,0,0,0,3"),
        ("love love love", "3,1,0,0,0,0"), ("I fear the dark", "0,0,0,0,3,1"), ("furious about it", "0,0,0,3,0,1"),
        ("happy surprise party", "1,2,2,0,0,0")]
EXAMPLES = [GradedExample(t, tuple(int(x) for x in l.split(","))) for t, l in ROWS]
MLP = dict(model="tfidf-mlp", network_options={"hidden_size": 8, "dropout": 0.2}, batch_size=8, lr=0.01, seed=3)


def fit(task=None, out_dir=None, resume=False, **config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(EXAMPLES * 3, EXAMPLES, TrainConfig(**config), out_dir=out_dir, resume=resume,
                     task=task or GradedTask(ASPECTS, LEVELS))


def write_rows(path, rows=ROWS):
    path.write_text("text\t" + ",".join(ASPECTS) + "\n" + "".join(f"{t}\t{l}\n" for t, l in rows))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A fine-grained tfidf-linear model trained through the CLI (run folder)."""
    tmp = tmp_path_factory.mktemp("graded")
    tr, va = write_rows(tmp / "train.tsv", ROWS * 3), write_rows(tmp / "val.tsv")
    res = CliRunner().invoke(cli, ["train", "--fine-grained", "--train", str(tr), "--validation", str(va), "--test",
                                   str(va), "--epochs", "8", "--level-names", ",".join(LEVELS), "--out", str(tmp / "run")])
    assert res.exit_code == 0, res.output
    return tmp


def test_one_classifier_one_loader(run):
    clf = mltc.load(run / "run")
    assert type(clf) is mltc.Classifier and isinstance(clf.task, GradedTask) and TASKS["graded"] is GradedTask
    assert clf.task.aspects == ASPECTS and clf.task.levels == LEVELS
    meta = json.loads((run / "run" / "model" / "mltc.json").read_text())
    assert meta["format"] == "mltc-model" and meta["version"] == 2
    assert meta["task"] == {"name": "graded", "aspects": ASPECTS, "levels": LEVELS, "decision": "argmax"}
    assert clf.config["loss"] == "ce" and clf.config["decision"] == "argmax" and clf.config["optimizer"] == "sgd"
    assert "test" in clf.metrics and clf.metrics["best_epoch"] >= 1
    with pytest.raises(AttributeError, match="graded model has no label space"):
        _ = clf.label_space


def test_predict_and_evaluate(run):
    clf = mltc.load(run / "run")
    (p,) = clf.predict(["so sad and sorry"])
    assert set(p["aspects"]) == set(ASPECTS)
    sorrow = p["aspects"]["sorrow"]
    assert sorrow["level_name"] == LEVELS[sorrow["level"]] and len(sorrow["probabilities"]) == len(LEVELS)
    assert sorrow["level"] == int(np.argmax(sorrow["probabilities"]))
    assert "probabilities" not in clf.predict(["x"], return_scores="none")[0]["aspects"]["joy"]
    assert clf.scores(["a", "b"]).shape == (2, len(ASPECTS), len(LEVELS))
    assert clf.evaluate(EXAMPLES)["mean"]["accuracy"] > 60  # learnt its training rows
    res = CliRunner().invoke(cli, ["evaluate", str(run / "run"), "--test", str(run / "val.tsv"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["aspects"]["love"]["confusion"]
    res = CliRunner().invoke(cli, ["predict", str(run / "run"), "-", "--all-scores"], input="so sad\nlove it\n")
    assert res.exit_code == 0 and [set(json.loads(l)["aspects"]) for l in res.output.splitlines()] == [set(ASPECTS)] * 2


def test_threshold_and_top_k_are_refused(run):
    clf = mltc.load(run / "run")
    with pytest.raises(OverrideRefused, match="does not apply to a fine-grained model"):
        clf.predict(["x"], threshold=0.5)
    with pytest.raises(OverrideRefused):
        clf.evaluate(EXAMPLES, top_k=1)
    for args in (["predict", str(run / "run"), "-", "--threshold", "0.5"],
                 ["evaluate", str(run / "run"), "--test", str(run / "val.tsv"), "--top-k", "2"]):
        res = CliRunner().invoke(cli, args, input="x\n")
        assert res.exit_code == 2 and "does not apply to a fine-grained model" in res.output, res.output


def test_served(run):
    from mltc.serving.app import create_app
    clf = mltc.load(run / "run")
    with TestClient(create_app(clf)) as client:
        labels = client.get("/v1/labels").json()
        assert labels == {"aspects": ASPECTS, "levels": LEVELS}
        model = client.get("/v1/model").json()
        assert model["task"] == "graded" and model["levels"] == LEVELS and model["decision"] == "argmax"
        r = client.post("/v1/predict", json={"texts": ["so sad and sorry", "love it"]})
        assert r.status_code == 200, r.text
        preds = r.json()["predictions"]
        assert [p["aspects"] for p in preds] == [p["aspects"] for p in clf.predict(["so sad and sorry", "love it"])]
        r = client.post("/v1/predict", json={"texts": ["x"], "return_scores": "none"})
        assert r.status_code == 200 and r.json()["predictions"][0]["aspects"]["joy"].get("probabilities") is None
        for extra in ({"threshold": 0.5}, {"top_k": 1}):
            r = client.post("/v1/predict", json={"texts": ["x"], **extra})
            assert r.status_code == 422 and "fine-grained" in r.json()["detail"]


def test_exported_onnx_matches_torch(run, tmp_path):
    import onnxruntime as ort
    from mltc.serving.onnx_export import onnx_inputs
    res = CliRunner().invoke(cli, ["export", str(run / "run"), "--onnx", str(tmp_path / "m.onnx")])
    assert res.exit_code == 0, res.output
    clf = mltc.load(run / "run")
    texts = [t for t, _ in ROWS] + ["", "unseen words"]
    ours = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, onnx_inputs(clf, texts))[0]
    assert ours.shape == (len(texts), len(ASPECTS), len(LEVELS))  # softmax per aspect inside the graph
    assert np.allclose(ours, clf.scores(texts), atol=1e-5)


def test_former_fine_grained_folders_still_load(run, tmp_path):
    import shutil
    folder = shutil.copytree(run / "run" / "model", tmp_path / "old")
    meta = json.loads((folder / "mltc.json").read_text())
    task = meta.pop("task")
    meta.update(format="mltc-fine-grained", version=1, aspects=task["aspects"], levels=task["levels"])
    (folder / "mltc.json").write_text(json.dumps(meta))
    old, new = mltc.load(folder), mltc.load(run / "run")
    assert old.predict(["so sad"]) == new.predict(["so sad"])


def test_the_shared_trainer_honours_precision_accumulation_and_rdrop(monkeypatch):
    precisions, kl_dtypes, loss_calls = [], [], []
    from mltc.training import device as device_mod  # MixedPrecision's autocast, every forward pass's
    real_autocast, real_kl = device_mod.autocast, GradedTask.rdrop_kl
    from mltc.losses.graded import GradedCrossEntropy
    real_forward = GradedCrossEntropy.forward

    def autocast_spy(device, precision):
        precisions.append(precision)
        return real_autocast(device, precision)

    def kl_spy(self, a, b):
        kl_dtypes.append(a.dtype)
        return real_kl(self, a, b)

    def forward_spy(self, logits, levels):
        loss_calls.append(len(levels))
        return real_forward(self, logits, levels)

    monkeypatch.setattr(device_mod, "autocast", autocast_spy)
    monkeypatch.setattr(GradedTask, "rdrop_kl", kl_spy)
    monkeypatch.setattr(GradedCrossEntropy, "forward", forward_spy)
    clf = fit(**MLP, epochs=2, precision="bf16", grad_accum=2, rdrop_alpha=1.0)
    assert clf.config["precision"] == "bf16" and clf.config["grad_accum"] == 2 and clf.config["rdrop_alpha"] == 1.0
    assert set(precisions) == {"bf16"} and kl_dtypes and set(kl_dtypes) == {torch.bfloat16}
    # 24 texts, batches of 8 split in 2 micro-batches of 4, two R-Drop passes each, 2 epochs
    assert loss_calls == [4] * (3 * 2 * 2 * 2)
    monkeypatch.undo()
    plain = fit(**MLP, epochs=2)
    assert [h["train_loss"] for h in plain.metrics["history"]] != [h["train_loss"] for h in clf.metrics["history"]]
    assert {"val_accuracy", "val_macro_f1", "val_rmse"} <= set(clf.metrics["history"][0])


def test_min_epochs_and_patience(monkeypatch):
    clf = fit(**MLP, epochs=6, patience=0, min_epochs=3)
    assert clf.metrics["epochs_run"] == 3


class Interrupted(Exception):
    pass


def test_an_interrupted_graded_run_resumes_exactly(tmp_path, monkeypatch):
    full = fit(**MLP, epochs=4, patience=10, out_dir=tmp_path / "full")
    real = trainer_mod.save_checkpoint

    def crash_after_epoch_2(folder, network, best, optimizer, state, run):
        real(folder, network, best, optimizer, state, run)
        if state["epoch"] == 2:
            raise Interrupted

    monkeypatch.setattr(trainer_mod, "save_checkpoint", crash_after_epoch_2)
    with pytest.raises(Interrupted):
        fit(**MLP, epochs=4, patience=10, out_dir=tmp_path / "cut")
    monkeypatch.undo()
    resumed = fit(**MLP, epochs=4, patience=10, out_dir=tmp_path / "cut", resume=True, keep_checkpoint=True)
    assert [h["epoch"] for h in resumed.metrics["history"]] == [1, 2, 3, 4]
    assert [h["train_loss"] for h in resumed.metrics["history"]] == [h["train_loss"] for h in full.metrics["history"]]
    for (k, v), (_, w) in zip(full.network.state_dict().items(), resumed.network.state_dict().items()):
        assert torch.equal(v, w), k
    from mltc.training.checkpoint import ResumeMismatchError
    with pytest.raises(ResumeMismatchError, match="labels differ"):  # other level names: another output space
        fit(GradedTask(ASPECTS, ["0", "1", "2", "3"]), **MLP, epochs=4, patience=10, out_dir=tmp_path / "cut",
            resume=True)


@pytest.mark.parametrize("change,option,reason", [
    (dict(loss="sq-hinge"), "loss", "cross-entropy per aspect"),
    (dict(decision="per-label"), "decision", "argmax"),
    (dict(decision_options={"min_labels": 1}), "decision_options", "argmax"),
    (dict(loss_preset="pubmed"), "loss_preset", "with loss ce"),
    (dict(model="svm"), "model", "multi-label only"),
    (dict(optimizer="lbfgs"), "optimizer", "lbfgs fitter is multi-label only"),
    (dict(cv_folds=5), "cv_folds", "multi-label only"),
])
def test_options_the_graded_task_cannot_honour_are_refused(change, option, reason, monkeypatch):
    monkeypatch.setattr(trainer_mod, "build_model_parts", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(OptionError, match=reason) as info:
        fit(**{"model": "tfidf-linear", **change})
    assert info.value.option == option


def test_the_cli_refuses_before_reading_data(tmp_path):
    res = CliRunner().invoke(cli, ["train", "--fine-grained", "--train", str(tmp_path / "missing.tsv"), "--validation",
                                   str(tmp_path / "missing.tsv"), "--loss", "sq-hinge", "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "--loss must be left out" in res.output and "one-hot" in res.output, res.output
    assert not (tmp_path / "run").exists()
    res = CliRunner().invoke(cli, ["train", "--train", str(tmp_path / "x.tsv"), "--level-names", "a,b",
                                   "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "--fine-grained" in res.output


def test_graded_data_errors_are_clear():
    with pytest.raises(ValueError, match="level 3 found but only 2 level names"):
        fit(GradedTask(ASPECTS, ["low", "high"]), model="tfidf-linear", epochs=1)
    with pytest.raises(ValueError, match="training example 0: expected 2 levels"):
        fit(GradedTask(["a", "b"]), model="tfidf-linear", epochs=1)
    with pytest.raises(ValueError, match="not labels"):
        train(EXAMPLES, EXAMPLES, TrainConfig(epochs=1), labels=["x"], task=GradedTask(ASPECTS))


def test_multi_label_is_the_default_task(toy):
    tr, va = toy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = train(tr, va, TrainConfig(model="tfidf-mlp", epochs=1, network_options={"hidden_size": 4}))
    assert isinstance(clf.task, MultiLabelTask) and clf.task.name == "multi-label" and clf.labels == clf.task.labels
    with pytest.raises(OptionError, match="threshold"):
        clf.task.check_override(1.5, None)


def _graded_app():
    from mltc.serving.app import create_app
    return create_app(fit(model="tfidf-linear", epochs=2))


graded_schema = schemathesis.openapi.from_asgi("/openapi.json", _graded_app())


@graded_schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_graded_api(case):
    """Generated requests to a fine-grained model never get a 5xx (the schema is the same for every task)."""
    response = case.call()
    assert response.status_code < 500, (case.path, case.body, response.text)
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])


def test_train_without_validation_holds_out(tmp_path, caplog):
    """A graded run given no validation texts holds a seeded share of its training texts out (to stop early)."""
    tr = write_rows(tmp_path / "train.tsv", ROWS * 3)
    res = CliRunner().invoke(cli, ["train", "--fine-grained", "--train", str(tr), "--epochs", "2",
                                   "--validation-size", "0.25", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "6 of the 24 training texts (25%" in caplog.text
    assert mltc.load(tmp_path / "run").config["validation_size"] == 0.25
