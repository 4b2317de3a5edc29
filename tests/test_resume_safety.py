"""Resume is safe (issue 11): a checkpoint resumes only the run that wrote it.

The checkpoint's ``state.json`` records the run's fingerprint (model, loss and its options,
optimiser settings, seed, digests of the training and validation data and of the label
list); ``--resume`` with anything else is refused with a message listing the differences,
before any tensor is loaded. The tensors file a checkpoint names must lie in its folder.
"""
import json
import os
import shutil
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from conftest import TOY_TRAIN, TOY_VAL
from model_mutations import mutate
from mltc.data import make_examples
from mltc.modelcheck import ModelFormatError
from mltc.training import TrainConfig, train
from mltc.training.checkpoint import ResumeMismatchError, run_fingerprint

BASE = dict(model="tfidf-linear", optimizer="sgd", loss="bce", epochs=2, patience=10, seed=1,
            keep_checkpoint=True)  # the finished run stays resumable (to extend it)


def examples(rows):
    return make_examples([t for t, _ in rows], [l for _, l in rows])


def fit(run, resume=False, train_rows=TOY_TRAIN, val_rows=TOY_VAL, labels=None, **changes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(examples(train_rows), examples(val_rows), TrainConfig(**{**BASE, **changes}), out_dir=run,
                     resume=resume, labels=labels)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("resume") / "run"
    fit(run)
    return run


@pytest.fixture
def run(first_run, tmp_path):
    return Path(shutil.copytree(first_run, tmp_path / "run"))


def test_the_checkpoint_records_the_run(run):
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    fp = state["run"]
    assert fp["seed"] == 1 and fp["loss"] == "bce" and fp["lr"] == 4.0 and fp["optimizer"] == "sgd"
    assert len(fp["train_data"]) == 64 and len(fp["validation_data"]) == 64 and len(fp["labels"]) == 64


def test_the_same_run_resumes_and_may_run_longer(run):
    clf = fit(run, resume=True, epochs=3)
    assert [h["epoch"] for h in clf.metrics["history"]] == [1, 2, 3]


def test_a_scheduled_run_cannot_change_its_length(tmp_path):
    """With linear decay the learning-rate curve depends on the number of epochs."""
    fit(tmp_path / "run", schedule="linear")
    with pytest.raises(ResumeMismatchError, match="epochs: checkpoint 2, now 3"):
        fit(tmp_path / "run", resume=True, schedule="linear", epochs=3)
    assert len(fit(tmp_path / "run", resume=True, schedule="linear").metrics["history"]) == 2


CHANGES = {
    "lr": dict(lr=0.5),
    "seed": dict(seed=2),
    "loss": dict(loss="db"),
    "loss_options": dict(loss_options={"gamma": 1.0}),
    "optimizer": dict(optimizer="adamw"),
    "weight_decay": dict(weight_decay=0.1),
    "batch_size": dict(batch_size=4),
    "model": dict(model="tfidf-mlp", network_options={"hidden_size": 8}),
    "featurizer_options": dict(featurizer_options={"ngram_range": (1, 2)}),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_changed_settings_are_refused_and_listed(run, what):
    model_before = (run / "model" / "config.json").read_text()
    with pytest.raises(ResumeMismatchError) as info:
        fit(run, resume=True, **CHANGES[what])
    msg = str(info.value)
    assert "different run" in msg and f"{what}:" in msg and "state.json" in msg, msg
    assert (run / "model" / "config.json").read_text() == model_before  # nothing misrecorded


def test_several_differences_are_listed_together(run):
    with pytest.raises(ResumeMismatchError, match=r"lr: checkpoint 4\.0, now 0\.5.*seed: checkpoint 1, now 3"):
        fit(run, resume=True, lr=0.5, seed=3)


def test_changed_training_data_is_refused(run):
    rows = TOY_TRAIN[:-1] + [("brand new words about zebras", ["earn"])]
    with pytest.raises(ResumeMismatchError, match="train data differs"):
        fit(run, resume=True, train_rows=rows)


def test_changed_validation_data_is_refused(run):
    with pytest.raises(ResumeMismatchError, match="validation data differs"):
        fit(run, resume=True, val_rows=TOY_VAL[:-1])


def test_changed_label_list_is_refused(run):
    labels = sorted({l for _, ls in TOY_TRAIN for l in ls}) + ["extra"]
    with pytest.raises(ResumeMismatchError, match="labels differ"):
        fit(run, resume=True, labels=labels)


def test_a_checkpoint_without_a_fingerprint_is_refused(run):
    path = run / "checkpoint" / "state.json"
    state = json.loads(path.read_text())
    del state["run"]
    path.write_text(json.dumps(state))
    with pytest.raises(ResumeMismatchError, match="does not record its run"):
        fit(run, resume=True)


@pytest.mark.parametrize("stored", ["../model/model.safetensors", "/etc/passwd", "tensors-00002.safetensors/../../x",
                                    None, 7])
def test_tensors_outside_the_checkpoint_are_refused(run, stored):
    path = run / "checkpoint" / "state.json"
    state = json.loads(path.read_text())
    state["tensors"] = stored
    path.write_text(json.dumps(state))
    with pytest.raises(ModelFormatError, match="state.json.*tensors"):
        fit(run, resume=True)


def test_a_symlinked_tensors_file_is_refused(run, tmp_path):
    ckpt = run / "checkpoint"
    (name,) = [p.name for p in ckpt.glob("tensors-*.safetensors")]
    shutil.move(ckpt / name, tmp_path / "elsewhere.safetensors")
    os.symlink(tmp_path / "elsewhere.safetensors", ckpt / name)
    with pytest.raises(ModelFormatError, match="outside"):
        fit(run, resume=True)


@pytest.mark.parametrize("damage", ["state-not-json", "state-trainer", "tensors-truncated", "tensors-missing"])
def test_a_damaged_checkpoint_gives_one_clear_error(run, damage):
    ckpt = run / "checkpoint"
    (tensors,) = ckpt.glob("tensors-*.safetensors")
    if damage == "state-not-json":
        (ckpt / "state.json").write_text("{oops")
    elif damage == "state-trainer":
        state = json.loads((ckpt / "state.json").read_text())
        state["trainer"]["epoch"] = "two"
        (ckpt / "state.json").write_text(json.dumps(state))
    elif damage == "tensors-truncated":
        tensors.write_bytes(tensors.read_bytes()[:100])
    else:
        tensors.unlink()
    with pytest.raises(ModelFormatError) as info:
        fit(run, resume=True)
    assert ("state.json" if damage.startswith("state") else tensors.name) in str(info.value)


def test_the_cli_refuses_with_exit_2(run, tmp_path):
    from click.testing import CliRunner
    from mltc.cli.main import cli
    tr, va = tmp_path / "train.tsv", tmp_path / "val.tsv"
    tr.write_text("text\tlabels\n" + "".join(f"{t}\t{','.join(l)}\n" for t, l in TOY_TRAIN))
    va.write_text("text\tlabels\n" + "".join(f"{t}\t{','.join(l)}\n" for t, l in TOY_VAL))
    out = tmp_path / "cli-run"
    args = ["train", "--train", str(tr), "--validation", str(va), "--loss", "bce", "--optimizer", "sgd", "--epochs", "1",
            "--seed", "1", "--out", str(out), "--keep-checkpoint", "true"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    res = CliRunner().invoke(cli, args + ["--resume", "--lr", "0.1"])
    assert res.exit_code == 2 and res.output.startswith("error: ") and "lr: checkpoint" in res.output, res.output
    assert "Traceback" not in res.output


def test_fingerprint_is_plain_json_and_order_sensitive():
    tr, va = examples(TOY_TRAIN), examples(TOY_VAL)
    cfg = TrainConfig(**BASE)
    a = run_fingerprint(cfg, tr, va, ["a", "b"])
    assert json.loads(json.dumps(a)) == a
    assert run_fingerprint(cfg, tr[::-1], va, ["a", "b"])["train_data"] != a["train_data"]
    assert run_fingerprint(cfg, tr, va, ["b", "a"])["labels"] != a["labels"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_checkpoint_state_resumes_or_fails_cleanly(first_run, data):
    """A mutated state.json either resumes, or raises ModelFormatError / ResumeMismatchError; nothing else."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(shutil.copytree(first_run, Path(tmp) / "run"))
        path = run / "checkpoint" / "state.json"
        doc, what = mutate(json.loads(path.read_text()), lambda n: data.draw(st.integers(0, max(0, n - 1))))
        path.write_text(json.dumps(doc, allow_nan=True))
        note(what)
        try:
            clf = fit(run, resume=True, epochs=3)
        except (ModelFormatError, ResumeMismatchError):
            return
        assert clf.predict(["wheat grain"])
