"""Every command-line and config value is checked before work starts: exit 2, a message
naming the option and the allowed values, no traceback, nothing written."""
import dataclasses
import json
import warnings
from typing import Literal

import pytest
from click.testing import CliRunner

from conftest import TOY_TRAIN, TOY_VAL
from mltc.cli.main import cli
from mltc.data import make_examples
from mltc.options import OptionError, validate_train_config, validate_train_options
from mltc.training import TrainConfig, Trainer, fit_svm, train


def _jsonl(path, rows):
    path.write_text("".join(json.dumps({"text": t, "labels": l}) + "\n" for t, l in rows), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("values")
    return _jsonl(d / "train.jsonl", TOY_TRAIN), _jsonl(d / "val.jsonl", TOY_VAL)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A sigmoid model and an SVM (identity scores), trained once for the module."""
    d = tmp_path_factory.mktemp("models")
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(tr, va, TrainConfig()).save(d / "sigmoid")
        train(tr, va, TrainConfig(model="svm")).save(d / "svm")
    return str(d / "sigmoid"), str(d / "svm")


def refused(args, fragments, input=None):
    res = CliRunner().invoke(cli, args, input=input)
    assert res.exit_code == 2, (args, res.output)
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    for f in fragments:
        assert f in res.output, (args, res.output)
    return res


# ------------------------------------------------------------------------------- train
@pytest.mark.parametrize("flags,fragments", [
    (["--epochs", "0"], ["--epochs", ">= 1", "got 0"]),
    (["--batch-size", "0"], ["--batch-size", ">= 1"]),
    (["--batch-size", "-1"], ["--batch-size", ">= 1"]),
    (["--lr", "nan"], ["--lr", "finite number > 0"]),
    (["--lr", "-0.1"], ["--lr", "> 0"]),
    (["--min-labels", "-2"], ["--min-labels", ">= 0"]),
    (["--threshold-grid", "-5,7"], ["--threshold-grid", "in [0, 1]"]),
    (["--threshold-grid", "0.5,x"], ["--threshold-grid", "comma-separated numbers"]),
    (["--threshold-grid", "nope"], ["--threshold-grid", "paper, wide, svm"]),
    (["--warmup-ratio", "2"], ["--warmup-ratio", "in [0, 1]"]),
    (["--patience", "-1"], ["--patience", ">= 0"]),
    (["--grad-accum", "0"], ["--grad-accum", ">= 1"]),
    (["--max-len", "0"], ["--max-len", ">= 1"]),
    (["--rdrop-alpha", "inf"], ["--rdrop-alpha", "finite"]),
])
def test_train_refuses_bad_flags_before_work(files, tmp_path, flags, fragments):
    tr, va = files
    refused(["train", "--train", tr, "--validation", va, "--out", str(tmp_path / "run"), *flags], fragments)
    assert not (tmp_path / "run").exists()


def test_svm_grid_may_be_any_real(files, tmp_path):
    tr, va = files
    res = CliRunner().invoke(cli, ["train", "--train", tr, "--validation", va, "--model", "svm",
                                   "--threshold-grid", "-5,0,7", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("name,text,fragments", [
    ("c.yaml", 'epochs: "abc"\n', ["c.yaml", "epochs", "an integer >= 1", "'abc'"]),
    ("c.yaml", "epochs: true\n", ["epochs", "an integer"]),
    ("c.yaml", "lr: fast\n", ["lr", "finite number > 0"]),
    ("c.json", '{"batch_size": 1.5}', ["batch_size", "an integer >= 1"]),
    ("c.toml", 'seed = "x"\n', ["seed", "an integer"]),
    ("c.toml", "[decision_options]\nmin_labels = -1\n", ["decision_options.min_labels", ">= 0"]),
    ("c.yaml", "decision_options:\n  grid: [5]\n", ["decision_options.grid", "in [0, 1]"]),
    ("c.yaml", "loss_options: 3\n", ["loss_options", "a mapping"]),
    ("c.yaml", "precision: fp32\n", ["precision", "one of no, bf16, fp16"]),
])
def test_config_file_wrong_types(files, tmp_path, name, text, fragments):
    tr, va = files
    cfg = tmp_path / name
    cfg.write_text(text)
    refused(["train", "--train", tr, "--validation", va, "--config", str(cfg), "--out", str(tmp_path / "run")],
            fragments)


def test_yaml_exponent_number_is_a_number(tmp_path):
    from mltc.training import read_config_file
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lr: 1e-3\nepochs: 2\n")  # YAML 1.1 reads 1e-3 as a string
    assert read_config_file(cfg) == {"lr": 0.001, "epochs": 2}


# ----------------------------------------------------------------------- the Python API
@pytest.mark.parametrize("cfg,option", [
    (TrainConfig(epochs=0), "epochs"),
    (TrainConfig(batch_size="32"), "batch_size"),
    (TrainConfig(lr=float("nan")), "lr"),
    (TrainConfig(device="gpu"), "device"),
    (TrainConfig(decision_options={"k": 0}), "decision_options.k"),
])
def test_trainer_fit_validates_first(toy, cfg, option):
    with pytest.raises(OptionError, match=option.replace(".", r"\.")) as err:
        Trainer(cfg).fit(*toy)
    assert err.value.option == option


def test_fit_svm_validates_first(toy):
    with pytest.raises(OptionError, match="svm_c must be a finite number > 0"):
        fit_svm(*toy, TrainConfig(model="svm", svm_c=0.0))


def test_new_fields_are_type_checked_by_annotation():
    @dataclasses.dataclass
    class Future(TrainConfig):
        threads: int | None = None
        fitter: str = "lbfgs"
        extra: dict = dataclasses.field(default_factory=dict)
        solver: Literal["lbfgs", "cd"] = "lbfgs"
        ngrams: tuple[int, int] = (1, 1)

    validate_train_config(Future(threads=2))
    with pytest.raises(OptionError, match="threads must be an integer >= 1"):
        validate_train_config(Future(threads=0))
    with pytest.raises(OptionError, match="fitter must be a string"):
        validate_train_config(Future(fitter=3))
    with pytest.raises(OptionError, match="extra must be a mapping"):
        validate_train_options({"extra": [1]}, config_class=Future)
    with pytest.raises(OptionError, match="solver must be one of lbfgs, cd"):
        validate_train_config(Future(solver="newton"))
    validate_train_options({"ngrams": [1, 2]}, config_class=Future)  # a config file's list is a tuple
    with pytest.raises(OptionError, match="ngrams must be a list or tuple"):
        validate_train_config(Future(ngrams="1,2"))


# -------------------------------------------------------------------- predict, evaluate
@pytest.mark.parametrize("flags,fragments", [
    (["--batch-size", "0"], ["--batch-size", ">= 1"]),
    (["--batch-size", "-1"], ["--batch-size", ">= 1"]),
    (["--threshold", "1.5"], ["--threshold", "[0, 1]", "probabilities"]),
    (["--threshold", "-0.2"], ["--threshold", "[0, 1]"]),
    (["--threshold", "nan"], ["--threshold"]),
    (["--top-k", "0"], ["--top-k", "[1, 7]"]),
    (["--top-k", "8"], ["--top-k", "[1, 7]"]),
    (["--threshold", "0.5", "--top-k", "2"], ["--threshold / --top-k", "not both"]),
])
def test_predict_refuses_bad_values(models, tmp_path, flags, fragments):
    out = tmp_path / "p.jsonl"
    refused(["predict", models[0], "-", "-o", str(out), *flags], fragments, input="wheat\n")
    assert not out.exists()


def test_svm_threshold_may_be_any_real_but_finite(models):
    res = CliRunner().invoke(cli, ["predict", models[1], "-", "--threshold", "-3"], input="wheat\n")
    assert res.exit_code == 0, res.output
    refused(["predict", models[1], "-", "--threshold", "inf"], ["--threshold", "finite"], input="wheat\n")


def test_evaluate_refuses_bad_values(models, files):
    _, va = files
    refused(["evaluate", models[0], "--test", va, "--threshold", "3"], ["--threshold", "[0, 1]"])
    refused(["evaluate", models[0], "--test", va, "--top-k", "0"], ["--top-k"])
    refused(["evaluate", models[0], "--test", va, "--per-label", "-1"], ["--per-label", ">= 0"])


# ------------------------------------------------------------------------------- serve
@pytest.mark.parametrize("flags,fragment", [
    (["--port", "70000"], "--port must be an integer in [1, 65535]"),
    (["--port", "-1"], "--port must be an integer in [1, 65535]"),
    (["--max-texts", "0"], "--max-texts must be an integer >= 1"),
    (["--max-body-bytes", "0"], "--max-body-bytes must be an integer >= 1"),
    (["--batch-window-ms", "-1"], "--batch-window-ms must be a finite number in [0, 10000]"),
    (["--read-timeout", "0"], "--read-timeout must be a finite number in (0, 3600]"),
    (["--body-timeout", "nan"], "--body-timeout must be a finite number in (0, 3600]"),
    (["--max-connections", "0"], "--max-connections must be an integer >= 1"),
])
def test_serve_refuses_bad_values_before_binding(models, flags, fragment):
    refused(["serve", models[0], *flags], [fragment])
