"""One registry per family: a toy loss, a toy model and a toy decision added through the registries
alone train, save, load, predict and serve; options a run does not read are refused; every registry
entry is listed in ``mltc train --help``."""
import json
import re
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from fastapi.testclient import TestClient
from torch import nn

from conftest import TOY_TRAIN, TOY_VAL
from mltc.cli.main import cli
from mltc.classifier import load
from mltc.data import make_examples
from mltc.data.readers import READERS
from mltc.data.registry import DATASETS
from mltc.decision import DECISIONS, Decision
from mltc.losses import LOSS_CONSTANTS, LOSSES, canonical_loss_name, make_loss
from mltc.models.featurizers import TfidfFeaturizer
from mltc.models.heads import HEADS
from mltc.models.registry import MODELS, NETWORKS, ModelSpec
from mltc.options import OptionError, check_options_used
from mltc.registry import Registry
from mltc.serving.app import create_app
from mltc.training import FITTERS, TrainConfig, train


# --------------------------------------------------------------------------- the toys
class ToyLoss(nn.Module):
    """BCE times a constant."""

    def __init__(self, class_freq=None, train_num=None, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, logits, targets):
        return self.scale * nn.functional.binary_cross_entropy_with_logits(logits, targets)


class ToyNet(nn.Module):
    """A weighted bag of TF-IDF features, one linear layer on top."""

    def __init__(self, input_size: int, num_labels: int, dim: int = 8) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(input_size, dim, mode="sum")
        self.out = nn.Linear(dim, num_labels)

    def forward(self, ids, offsets, weights, **_):
        return self.out(self.embedding(ids, offsets, per_sample_weights=weights))


class NearMax(Decision):
    """Every label scored within ``margin`` of the text's best score."""

    kind = "toy-near-max"

    def __init__(self, margin: float = 0.05) -> None:
        self.margin = float(margin)

    def predict(self, scores):
        s = np.asarray(scores, dtype=np.float64)
        return s >= s.max(axis=1, keepdims=True) - self.margin

    def params(self):
        return {"margin": self.margin}


@pytest.fixture
def toys():
    """Register the toys (one call each), unregister them afterwards."""
    LOSSES.register("toy-loss", ToyLoss, aliases=("toy-bce",), decision="toy-near-max", options={"scale": 1.0},
                    help="a toy: BCE times a constant")
    MODELS.register("toy-model", ModelSpec(TfidfFeaturizer, ToyNet, {}, {"dim": 8},
                                           {"optimizer": "adamw", "lr": 0.05, "epochs": 3, "batch_size": 4}),
                    help="a toy bag of features")
    DECISIONS.register("toy-near-max", NearMax, help="a toy: labels near the best score")
    yield
    LOSSES.unregister("toy-loss")
    MODELS.unregister("toy-model")
    NETWORKS.unregister("ToyNet")
    DECISIONS.unregister("toy-near-max")


def _files(tmp_path):
    for name, rows in (("train.jsonl", TOY_TRAIN), ("val.jsonl", TOY_VAL)):
        (tmp_path / name).write_text("".join(json.dumps({"text": t, "labels": l}) + "\n" for t, l in rows))
    return str(tmp_path / "train.jsonl"), str(tmp_path / "val.jsonl")


def _toy_data():
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    return tr, va


# ------------------------------------------------------------------ toys end to end
def test_toys_train_save_load_predict_serve(toys, tmp_path):
    tr, va = _toy_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = train(tr, va, TrainConfig(model="toy-model", loss="toy-bce", epochs=3, seed=0))
    assert clf.config["loss"] == "toy-bce" and clf.config["decision"] == "toy-near-max"  # the loss's decision
    assert isinstance(clf.decision, NearMax)
    clf.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "decision.json").read_text()) == {"kind": "toy-near-max", "margin": 0.05}
    loaded = load(tmp_path / "m")  # finds ToyNet and NearMax by their registered names
    assert isinstance(loaded.network, ToyNet) and isinstance(loaded.decision, NearMax)
    texts = ["wheat grain exports", "crude oil", ""]
    assert loaded.predict(texts) == clf.predict(texts)
    assert all(p["labels"] for p in loaded.predict(texts))  # near-max predicts at least the best label
    with TestClient(create_app(loaded)) as client:
        r = client.post("/v1/predict", json={"texts": texts})
        assert r.status_code == 200
        assert [p["labels"] for p in r.json()["predictions"]] == [p["labels"] for p in clf.predict(texts)]
        assert client.get("/v1/model").json()["decision"]["kind"] == "toy-near-max"


def test_toys_through_the_cli(toys, tmp_path):
    tr, va = _files(tmp_path)
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["train", "--train", tr, "--validation", va, "--model", "toy-model", "--loss",
                                   "TOY_LOSS", "--decision", "toy-near-max", "--epochs", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["predict", str(out), "-"], input="wheat grain\n")
    assert res.exit_code == 0 and json.loads(res.output)["labels"], res.output
    help_text = CliRunner().invoke(cli, ["train", "--help"]).output
    for name in ("toy-loss", "toy-bce", "toy-model", "toy-near-max", "a toy: BCE times a constant"):
        assert name in _unwrap(help_text), name


def test_registrations_are_one_call(toys):
    assert canonical_loss_name("Toy_BCE") == "toy-loss"
    assert isinstance(make_loss("toy-loss", scale=2.0), ToyLoss)
    with pytest.raises(ValueError, match="taken"):
        LOSSES.register("toybce", ToyLoss)  # another spelling of a registered alias
    assert "ToyNet" in NETWORKS and "toy-model" in MODELS


# --------------------------------------------------------------- refused, not ignored
@pytest.mark.parametrize("flags,fragments", [
    (["--epochs", "3"], ["--epochs is not used by the linear fitter", "neural fitter"]),
    (["--lr", "0.1"], ["--lr is not used by the linear fitter"]),
    (["--model", "textcnn", "--C", "2"], ["--C is not used by the neural fitter", "linear fitter"]),
    (["--model", "textcnn", "--cv-folds", "5"], ["--cv-folds is not used by the neural fitter"]),
    (["--model", "textcnn", "--encoder", "bert-base-uncased"], ["--encoder is not used", "transformer, frozen-encoder"]),
    (["--model", "textcnn", "--head", "attention"], ["--head is not an option of model textcnn"]),
    (["--model", "svm", "--patience", "3"], ["--patience is not used by the svm fitter"]),
    (["--model", "textcnn", "--decision", "auto"], ["--decision 'auto' is for the linear fitter"]),
    (["--model", "textcnn", "--loss", "sq-hinge"], ["--loss 'sq-hinge' is for the linear fitter"]),
    (["--model", "svm", "--svm-c", "2", "--clip-norm", "1"], ["--clip-norm is not used by the svm fitter"]),
])
def test_unused_option_refused_by_the_cli(tmp_path, flags, fragments):
    tr, va = _files(tmp_path)
    res = CliRunner().invoke(cli, ["train", "--train", tr, "--validation", va, "--out", str(tmp_path / "r"), *flags])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1, res.output
    for f in fragments:
        assert f in res.output, res.output
    assert not (tmp_path / "r").exists()


def test_unused_option_in_a_config_file_refused(tmp_path):
    tr, va = _files(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epochs: 4\n")
    res = CliRunner().invoke(cli, ["train", "--train", tr, "--validation", va, "--config", str(cfg),
                                   "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "--epochs is not used by the linear fitter" in res.output
    res = CliRunner().invoke(cli, ["train", "--train", tr, "--validation", va, "--config", str(cfg),
                                   "--optimizer", "sgd", "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output  # the same option with a fitter that reads it


@pytest.mark.parametrize("cfg,option", [
    (TrainConfig(epochs=3), "epochs"),
    (TrainConfig(model="textcnn", cv_folds=5), "cv_folds"),
    (TrainConfig(model="textcnn", solver_options={"C": 2.0}), "solver_options"),
    (TrainConfig(model="tfidf-mlp", encoder="x"), "encoder"),
    (TrainConfig(model="svm", lr=0.1), "lr"),
])
def test_unused_option_refused_by_the_api(toy, cfg, option):
    with pytest.raises(OptionError, match=rf"^{option} is not used") as err:
        train(*toy, cfg)
    assert err.value.option == option and isinstance(err.value, ValueError)


def test_used_options_pass():
    check_options_used(TrainConfig(cv_folds=5, solver_options={"C": 2.0}, threads=1))
    check_options_used(TrainConfig(optimizer="sgd", epochs=2, lr=0.5))
    check_options_used(TrainConfig(model="transformer", encoder="x", network_options={"head": "attention"}))
    check_options_used(TrainConfig(model="svm", svm_c=2.0, decision="zero"))
    # a comparison grid: an option must be read by one of its fitters
    check_options_used(TrainConfig(model="textcnn", epochs=2, svm_c=3.0), fitters=("svm", "neural"))


# ---------------------------------------------------------------- aliases and defaults
@pytest.mark.parametrize("loss", ["zlpr", "multilabel-softmax", "Multilabel_Softmax"])
def test_zlpr_aliases_get_the_zero_decision(toy, loss):
    tr, va = toy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        neural = train(tr, va, TrainConfig(loss=loss, optimizer="sgd", epochs=1))
        linear = train(tr, va, TrainConfig(loss=loss, cv_folds=0))
    for clf in (neural, linear):
        assert clf.decision.kind == "fixed" and clf.decision.threshold_ == 0.5, clf.decision


def test_defaults_unchanged():
    from mltc.training import fitter_name
    cfg = TrainConfig()
    assert (cfg.model, cfg.loss, cfg.decision, cfg.loss_preset) == ("tfidf-linear", None, None, "reuters")
    assert fitter_name(cfg) == "linear" and FITTERS.meta("linear", "defaults")["loss"] == "sq-hinge"
    assert FITTERS.meta("linear", "defaults")["decision"] == "auto"
    resolved = TrainConfig(model="textcnn").resolved(MODELS["textcnn"].training)
    assert (resolved.loss, resolved.decision, resolved.lr, resolved.epochs, resolved.clip_norm) == \
        ("db", "global", 1e-3, 30, 5.0)


# ----------------------------------------------------------------- help and registries
def _unwrap(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("-\n", "-"))


def test_every_registry_entry_in_train_help():
    text = _unwrap(CliRunner().invoke(cli, ["train", "--help"]).output)
    for reg in (LOSSES, LOSS_CONSTANTS, MODELS, DECISIONS, HEADS, READERS, DATASETS):
        for name in reg:
            assert name in text, (reg.family, name)
    for flag in ("--C", "--min-labels", "--threshold-grid", "--head", "--pooling", "--max-len", "--optimizer",
                 "--clip-norm", "--min-epochs", "--svm-c", "--svm-class-weight", "--loss-preset"):
        assert flag in text, flag
    compare = _unwrap(CliRunner().invoke(cli, ["compare", "--help"]).output)
    assert "--epochs" in compare and "--loss " not in compare  # compare's rows are the losses


def test_registry_basics():
    reg = Registry("thing")
    reg.register("big-one", 1, aliases=("large",), help="a big one", size=3)

    @reg.register("small", help="decorated")
    def small():
        return 2

    assert list(reg) == ["big-one", "small"] and reg["BIG_ONE"] == 1 and reg["bigone"] == 1 and reg["large"] == 1
    assert reg.meta("large", "size") == 3 and reg["small"] is small and "nope" not in reg
    with pytest.raises(ValueError, match="unknown thing 'nope'; choose one of big-one, small"):
        reg.canonical("nope")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("small", 3)
    reg.register("small", 3, replace=True)
    assert reg["small"] == 3
    assert "| `big-one` | large | a big one |" in reg.markdown()


def test_unknown_names_refused_with_the_choices(tmp_path):
    tr, va = _files(tmp_path)
    res = CliRunner().invoke(cli, ["train", "--train", tr, "--validation", va, "--loss", "nope", "--out", "r"])
    assert res.exit_code == 2 and "'nope' is not one of bce, fl" in _unwrap(res.output)
    with pytest.raises(OptionError, match="loss must be one of bce"):
        from mltc.options import validate_train_config
        validate_train_config(TrainConfig(loss="nope"))
    assert torch.is_tensor(make_loss("focal")(torch.zeros(1, 2), torch.ones(1, 2)))


def test_tasks_are_a_registry(tmp_path):
    from mltc.registry import family
    from mltc.tasks import TASKS, GradedTask, MultiLabelTask, Task, task_from_meta
    from mltc.modelcheck import ModelFormatError
    assert isinstance(TASKS, Registry) and family("task") is TASKS
    assert list(TASKS) == ["multi-label", "graded"] and TASKS["graded"] is GradedTask
    assert TASKS["multi-label"] is MultiLabelTask and "Graded" not in TASKS  # the name in mltc.json, exactly
    with pytest.raises(ValueError, match="unknown task 'nope'; choose one of multi-label, graded"):
        TASKS.canonical("nope")
    with pytest.raises(ModelFormatError, match="'task' must be an object naming one of multi-label, graded"):
        task_from_meta(tmp_path, {"task": {"name": "GRADED"}}, tmp_path / "mltc.json", 4)

    class Mine(Task):
        name = "mine"

    with pytest.raises(ValueError, match="register it under that name"):
        TASKS.register("other", Mine)
    with pytest.raises(TypeError, match="a task is a Task subclass"):
        TASKS.register("mine", object)
    TASKS.register("mine", Mine, help="a toy task")
    try:
        listed = CliRunner().invoke(cli, ["registries"]).output
        assert "### task (`mltc.tasks.TASKS`)" in listed and "| `mine` |  | a toy task |" in listed
        assert "| `graded` |" in listed
    finally:
        TASKS.unregister("mine")
    assert "mine" not in TASKS
