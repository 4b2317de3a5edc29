"""Training without validation texts: a seeded share of the training texts is held out (mltc.data.holdout)."""
import json
import logging
from collections import Counter

import pytest
from click.testing import CliRunner

import mltc
from conftest import TOY_TRAIN, TOY_VAL
from mltc.cli.main import cli
from mltc.data import make_examples
from mltc.data.holdout import hold_out
from mltc.training import TrainConfig


def corpus(n=200, seed=0):
    """A long-tailed set: label i on every (i+1)-th text, plus one label seen once per block of 50 texts."""
    texts, labels = [], []
    for t in range(n):
        ls = [f"l{i}" for i in range(6) if t % (i + 1) == 0]
        if t % 50 == 7:
            ls.append(f"once{t}")
        texts.append(f"text {t} " + " ".join(ls))
        labels.append(ls)
    return make_examples(texts, labels)


def test_share_seed_and_order():
    ex = corpus()
    tr, va = hold_out(ex, 0.1, seed=3)
    assert len(va) == 20 and len(tr) == 180
    assert hold_out(ex, 0.1, seed=3) == (tr, va)  # seeded
    assert hold_out(ex, 0.1, seed=4)[1] != va
    pos = {id(e): i for i, e in enumerate(ex)}
    assert [pos[id(e)] for e in tr] == sorted(pos[id(e)] for e in tr)  # order kept
    assert {id(e) for e in tr} | {id(e) for e in va} == set(pos) and not {id(e) for e in tr} & {id(e) for e in va}


def test_no_label_loses_its_last_training_text():
    ex = corpus()
    for seed in range(20):
        tr, va = hold_out(ex, 0.5, seed, labels_of=lambda e: e.labels)
        left = Counter(label for e in tr for label in e.labels)
        assert all(left[label] >= 1 for e in ex for label in e.labels)
        assert not any(label.startswith("once") for e in va for label in e.labels)  # seen once: always trained on
    # without the constraint, some draw holds out a label's only text
    assert any(any(label.startswith("once") for e in hold_out(ex, 0.5, s)[1] for label in e.labels) for s in range(20))


@pytest.mark.parametrize("share", [0, 1, -0.1, 1.5])
def test_share_out_of_range(share):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        hold_out(corpus(), share, 0)


def test_too_few_or_impossible():
    with pytest.raises(ValueError, match="too few"):
        hold_out(corpus(1), 0.1, 0)
    singles = make_examples(["a", "b", "c"], [["x"], ["y"], ["z"]])
    with pytest.raises(ValueError, match="without leaving a label with no training text"):
        hold_out(singles, 0.3, 0, labels_of=lambda e: e.labels)


def test_train_without_validation_holds_out_and_says_so(caplog):
    tr = make_examples(*zip(*TOY_TRAIN)) * 4
    with caplog.at_level(logging.WARNING, logger="mltc"):
        clf = mltc.train(tr, [], TrainConfig(validation_size=0.25), progress=False)
    assert "held out" in caplog.text and f"of the {len(tr)} training texts" in caplog.text
    assert clf.config["validation_size"] == 0.25
    # the decision was chosen on the held-out quarter: its validation scores exist and the model predicts
    assert 0 <= clf.metrics["validation"]["micro_f1"] <= 100
    assert clf.predict([TOY_VAL[0][0]])[0]["labels"] is not None


def test_validation_size_zero_refuses():
    tr = make_examples(*zip(*TOY_TRAIN))
    with pytest.raises(ValueError, match="validation_size is 0"):
        mltc.train(tr, [], TrainConfig(validation_size=0), progress=False)
    with pytest.raises(ValueError, match="validation_size"):
        mltc.train(tr, [], TrainConfig(validation_size=0.9), progress=False)


def test_cli_train_and_test_files_only(tmp_path, caplog):
    import csv
    p = tmp_path / "train.csv"
    with open(p, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "labels"])
        for t, l in TOY_TRAIN * 4:
            w.writerow([t, ",".join(l)])
    res = CliRunner().invoke(cli, ["train", "--train", str(p), "--test", str(p), "--validation-size", "0.2",
                                   "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "micro-F1" in res.output and "9 of the 44 training texts (20%" in caplog.text
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert config["validation_size"] == 0.2


def test_compare_holds_out_once_for_every_row(caplog, tmp_path):
    from mltc.compare import run_compare
    from mltc.data import DatasetSplits
    tr = make_examples(*zip(*TOY_TRAIN)) * 4
    data = DatasetSplits("toy", tr, [], make_examples(*zip(*TOY_VAL)))
    with caplog.at_level(logging.WARNING, logger="mltc"):
        res = run_compare(data, rows=("svm", "svm-zero"), base=TrainConfig(validation_size=0.25), progress=False)
    assert caplog.text.count("held out") == 1  # one split, said once, shared by both rows
    assert len(res["rows"]) == 2
