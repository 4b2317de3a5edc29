"""Training every CPU model with every loss, saved models, resume after SIGKILL."""
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch

import mltc
from mltc.data import make_examples
from mltc.losses import LOSS_NAMES
from mltc.models.registry import ENCODER_MODELS, MODELS
from mltc.training import TrainConfig, train


def fast(model="tfidf-linear", loss="bce", **kw):
    if model == "svm":  # the SVM baseline reads none of the minibatch options (they would be refused)
        return TrainConfig(model="svm", seed=1, **kw)
    base = dict(model=model, loss=loss, epochs=3, patience=3, seed=1)
    if model == "tfidf-linear":  # the minibatch trainer (the linear fitter has tests of its own)
        base["optimizer"] = "sgd"
    if model != "tfidf-linear":
        base["network_options"] = {"dim": 16} if model != "bilstm-attention" else {"dim": 16, "hidden": 8}
        if model == "textcnn":
            base["network_options"]["filters"] = 8
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("model", sorted(m for m in MODELS if m not in ENCODER_MODELS))
def test_every_model_trains_saves_and_reloads(model, toy, tmp_path):
    tr, va = toy
    cfg = fast(model, "db", featurizer_options={"min_count": 1} if model in ("textcnn", "bilstm-attention") else {})
    if model == "tfidf-mlp":
        cfg.network_options = {"hidden_size": 16}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = train(tr, va, cfg, out_dir=tmp_path / "run")
    texts = [e.text for e in va] + ["", "unknown words only zzz", "x" * 5000]
    before = clf.scores(texts)
    assert before.shape == (len(texts), clf.label_space.num_labels) and np.isfinite(before).all()
    again = mltc.load(tmp_path / "run")
    assert np.array_equal(again.scores(texts), before)
    assert again.predict(texts) == clf.predict(texts)
    assert again.labels == clf.labels and again.config["model"] == model
    files = sorted(p.name for p in (tmp_path / "run" / "model").iterdir())
    assert files == ["config.json", "decision.json", "featurizer.json", "labels.json", "metrics.json", "mltc.json",
                     "model.safetensors"]
    assert not any(f.endswith((".pkl", ".pt", ".bin")) for f in files)


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_every_loss_trains_the_linear_model(loss, toy):
    tr, va = toy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = train(tr, va, fast(loss=loss, epochs=5))
    assert clf.config["loss"] == loss
    assert len(clf.metrics["history"]) >= 1 and np.isfinite(clf.metrics["history"][-1]["train_loss"])
    assert clf.config["decision"] == ("zero" if loss == "zlpr" else "global")
    if loss == "zlpr":
        assert clf.decision.threshold_ == 0.5  # logit 0


@pytest.mark.slow
def test_learns_something_on_reuters_subset(reuters):
    tr = reuters.train[:1500]
    clf = train(tr, reuters.validation[:300], TrainConfig(loss="db", seed=3), labels=reuters.labels)
    rep = clf.evaluate(reuters.test[:600])
    assert rep["total"]["micro_f1"] > 70  # far above chance; the full benchmark is in benchmarks/


@pytest.mark.slow
def test_svm_baseline_matches_sklearn_ovr(reuters):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC
    tr, te = reuters.train[:2000], reuters.test[:500]
    clf = train(tr, reuters.validation[:200], TrainConfig(model="svm", decision="zero"))
    mlb = MultiLabelBinarizer(classes=clf.labels)
    vec = TfidfVectorizer()
    ovr = OneVsRestClassifier(LinearSVC(C=1.0)).fit(vec.fit_transform([e.text for e in tr]),
                                                    mlb.fit_transform([e.labels for e in tr]).astype(np.int32))
    ref = ovr.decision_function(vec.transform([e.text for e in te]))
    ours = clf.scores([e.text for e in te])
    assert np.allclose(ours, ref, atol=1e-4)


def test_same_seed_same_model(toy):
    tr, va = toy
    a = train(tr, va, fast(model="textcnn", featurizer_options={"min_count": 1}))
    b = train(tr, va, fast(model="textcnn", featurizer_options={"min_count": 1}))
    for (k, v), (_, w) in zip(a.network.state_dict().items(), b.network.state_dict().items()):
        assert torch.equal(v, w), k


def test_training_data_errors(toy):
    tr, va = toy
    with pytest.raises(ValueError, match="no validation texts, and validation_size is 0"):
        train(tr, [], fast(validation_size=0))
    with pytest.raises(ValueError, match="no labels"):
        train(make_examples(["a b", "c d"], [[], []]), va, fast())
    with pytest.raises(ValueError, match="unknown model"):
        train(tr, va, fast(model="gpt"))
    with pytest.raises(ValueError, match="unknown configuration key"):
        TrainConfig.from_dict({"epochz": 3})


def test_empty_texts_and_unseen_validation_labels_warn(toy):
    tr, va = toy
    tr = tr + make_examples([""], [["earn"]])
    va = va + make_examples(["brand new"], [["never-seen"]])
    with pytest.warns(UserWarning) as record:
        clf = train(tr, va, fast())
    messages = " ".join(str(r.message) for r in record)
    assert "empty" in messages and "never-seen" in messages
    rep = clf.evaluate(va)
    assert rep["unseen_labels"] == {"never-seen": 1} and rep["texts_with_unseen_labels"] == 1


def test_log_written_and_checkpoint_removed_once_the_model_is_saved(toy, tmp_path):
    tr, va = toy
    train(tr, va, fast(epochs=3, patience=10), out_dir=tmp_path / "a")
    lines = (tmp_path / "a" / "log.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2, 3]
    assert (tmp_path / "a" / "model" / "model.safetensors").exists()
    assert not (tmp_path / "a" / "checkpoint").exists()  # nothing left to resume: no weights left behind
    train(tr, va, fast(epochs=3, patience=10, keep_checkpoint=True), out_dir=tmp_path / "b")
    ckpt = sorted(p.name for p in (tmp_path / "b" / "checkpoint").iterdir())
    assert ckpt == ["state.json", "tensors-00003.safetensors"]


def test_resume_without_checkpoint_is_an_error(toy, tmp_path):
    tr, va = toy
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train(tr, va, fast(), out_dir=tmp_path, resume=True)


RESUME_SCRIPT = r"""
import sys, warnings
warnings.simplefilter("ignore")
from mltc.data import load_dataset
from mltc.training import TrainConfig, train
d = load_dataset("reuters21578", sys.argv[1])
cfg = TrainConfig(model="textcnn", loss="db", epochs=6, patience=10, seed=7, batch_size=32,
                  network_options={"dim": 32, "filters": 32}, featurizer_options={"max_len": 64})
clf = train(d.train[:1200], d.validation[:300], cfg, out_dir=sys.argv[2], resume=sys.argv[3] == "1", labels=d.labels)
print(clf.metrics["validation"]["micro_f1"], clf.metrics["best_epoch"])
"""


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted(data_dir, tmp_path):
    """A run killed with SIGKILL after epoch 2 resumes and ends exactly like an unbroken run."""
    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    full = subprocess.run([sys.executable, str(script), str(data_dir), str(tmp_path / "full"), "0"],
                          capture_output=True, text=True, env=env, check=True).stdout.split()
    proc = subprocess.Popen([sys.executable, str(script), str(data_dir), str(tmp_path / "cut"), "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    state = tmp_path / "cut" / "checkpoint" / "state.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        if state.exists() and json.loads(state.read_text())["trainer"]["epoch"] >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    epochs_done = json.loads(state.read_text())["trainer"]["epoch"]
    assert 2 <= epochs_done < 6, "the kill should land mid-run"
    resumed = subprocess.run([sys.executable, str(script), str(data_dir), str(tmp_path / "cut"), "1"],
                             capture_output=True, text=True, env=env, check=True).stdout.split()
    assert resumed == full
    a, b = mltc.load(tmp_path / "full"), mltc.load(tmp_path / "cut")
    for (k, v), (_, w) in zip(a.network.state_dict().items(), b.network.state_dict().items()):
        assert torch.equal(v, w), k
