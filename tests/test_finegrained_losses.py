"""Fine-grained (graded) models train with every loss of the registry (the issue: "fine-grained models
train with any loss the multi-label path has"): the balanced losses of Huang et al. (EMNLP 2021) and
ZLPR on the one-hot (aspect, level) targets, with class frequencies per (aspect, level) cell; the
scores stay a softmax per aspect, and the loss is saved with the model."""
import json
import shutil
import warnings
from collections import Counter

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import mltc
from mltc.cli.main import cli
from mltc.data.graded import GradedExample
from mltc.losses import make_loss as make_multilabel_loss
from mltc.losses.graded import GradedCrossEntropy, OneHotLevelsLoss, cell_frequencies, one_hot_levels
from mltc.modelcheck import ModelFormatError
from mltc.options import OptionError
from mltc.tasks import GradedTask
from mltc.tasks import graded_loss as graded_loss_mod
from mltc.training import TrainConfig, train
from mltc.training import trainer as trainer_mod

ASPECTS, LEVELS = ["taste", "service"], ["low", "mid", "high"]
TASTE, SERVICE, FILL = ["bland", "tasty", "delicious"], ["slow", "friendly", "superb"], ["food", "place", "dinner", "visit"]
#: a long tail: level 0 common, level 2 rare, for both aspects (57 training texts)
TRAIN_COUNTS = {(t, s): [6, 3, 1][t] * [6, 3, 1][s] // 2 + 1 for t in range(3) for s in range(3)}
LINEAR = dict(model="tfidf-linear", optimizer="adamw", lr=0.1, epochs=15, batch_size=16, seed=1)


def rows(counts, seed):
    """Texts naming one word per aspect (its level) among filler words."""
    rng = np.random.default_rng(seed)
    return [GradedExample(f"{rng.choice(FILL)} {TASTE[t]} and {SERVICE[s]} {rng.choice(FILL)}", (t, s))
            for (t, s), n in counts.items() for _ in range(n)]


TRAIN, VALIDATION, TEST = rows(TRAIN_COUNTS, 0), rows(dict.fromkeys(TRAIN_COUNTS, 1), 1), rows(dict.fromkeys(TRAIN_COUNTS, 2), 2)


def fit(out_dir=None, **config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(TRAIN, VALIDATION, TrainConfig(**{**LINEAR, **config}), out_dir=out_dir,
                     task=GradedTask(ASPECTS, LEVELS))


def test_cell_frequencies_and_one_hot_targets_by_hand():
    levels = [[0, 2], [0, 1], [1, 1]]  # 3 texts, 2 aspects, 3 levels
    assert cell_frequencies(levels, 3).tolist() == [2, 1, 0, 0, 2, 1]  # aspect 0: levels 0,0,1; aspect 1: 2,1,1
    assert cell_frequencies(levels, 4).tolist() == [2, 1, 0, 0, 0, 2, 1, 0]  # column k*L + l
    y = one_hot_levels(torch.tensor(levels), 3)
    assert y.tolist() == [[1, 0, 0, 0, 0, 1], [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0]]
    assert y.sum(0).tolist() == cell_frequencies(levels, 3).tolist()


def test_the_loss_sees_the_training_cell_frequencies(monkeypatch):
    seen = {}
    real = graded_loss_mod.make_loss

    def spy(name, class_freq, train_num, preset, **kw):
        seen.update(name=name, class_freq=np.asarray(class_freq).tolist(), train_num=train_num, preset=preset,
                    train_targets=kw["train_targets"])
        return real(name, class_freq, train_num, preset, **kw)

    monkeypatch.setattr(graded_loss_mod, "make_loss", spy)
    fit(loss="CB_NTR", loss_preset="pubmed", epochs=1)
    # counted by hand from the training rows (never the validation rows)
    taste, service = Counter(e.levels[0] for e in TRAIN), Counter(e.levels[1] for e in TRAIN)
    assert seen["class_freq"] == [taste[0], taste[1], taste[2], service[0], service[1], service[2]] == [33, 17, 7, 33, 17, 7]
    assert seen["name"] == "cb-ntr" and seen["train_num"] == len(TRAIN) == 57 and seen["preset"] == "pubmed"
    assert seen["train_targets"].shape == (57, 6) and seen["train_targets"].sum(1).tolist() == [2.0] * 57


def test_the_flattened_loss_is_the_multi_label_loss_on_one_hot_targets():
    levels = torch.tensor([[0, 2], [0, 1], [1, 1]])
    task = GradedTask(["a", "b"], ["0", "1", "2"], loss="db")
    with pytest.warns(RuntimeWarning, match="2 label"):  # the two cells no text takes are clamped to 1
        loss = task.make_loss(task.resolve(TrainConfig(loss="db")), levels)
    assert isinstance(loss, OneHotLevelsLoss) and task.loss == "db"
    logits = torch.randn(3, 6, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = make_multilabel_loss("db", [2, 1, 0, 0, 2, 1], 3)(logits, one_hot_levels(levels, 3))
    assert torch.allclose(loss(logits, levels), reference)
    assert task.sgd_scale(4) == 4 * 6  # SGD per (text, cell), as the multi-label path per (text, label)
    ce_task = GradedTask(["a", "b"], ["0", "1", "2"])
    assert isinstance(ce_task.make_loss(ce_task.resolve(TrainConfig()), levels), GradedCrossEntropy)
    assert ce_task.loss == "ce" and ce_task.sgd_scale(4) == 4


def test_the_task_takes_its_loss_when_fitted_and_making_another_is_refused():
    levels = torch.tensor([[0, 2], [0, 1], [1, 1]])
    examples = [GradedExample("a b", [0, 2]), GradedExample("c", [0, 1]), GradedExample("d e", [1, 1])]
    task = GradedTask(["a", "b"], ["0", "1", "2"])
    cfg = task.resolve(TrainConfig(loss="zlpr"))
    fitted = task.fitted(examples, examples, config=cfg)
    assert fitted.loss == "zlpr" and task.loss == "ce"  # the task it was fitted from is unchanged
    assert fitted.sgd_scale(4) == 4 * 6
    assert task.fitted(examples, examples).loss == "ce"  # without a config: the task's own
    with pytest.raises(ValueError, match="trains with the 'ce' loss, the config asks for 'zlpr'"):
        task.make_loss(cfg, levels)
    assert task.loss == "ce"
    spelled = GradedTask(["a", "b"], ["0", "1", "2"], loss="DB")  # any spelling, as the config's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert isinstance(spelled.make_loss(spelled.resolve(TrainConfig(loss="db")), levels), OneHotLevelsLoss)


def test_a_task_whose_fitted_takes_no_config_still_trains():
    from mltc.tasks import MultiLabelTask
    from mltc.training.trainer import fitted_task
    seen = {}

    class Older(MultiLabelTask):  # an extension written before fitted() took the config
        def fitted(self, train, validation, labels=None):
            seen["called"] = True
            return super().fitted(train, validation, labels)
    from mltc.data import make_examples
    examples = make_examples(["a b", "c d"], [["x"], ["y"]])
    task = fitted_task(Older(), examples, examples, None, TrainConfig())
    assert seen["called"] and task.fitted_space.labels == ["x", "y"]
    graded = [GradedExample("a b", [0, 2]), GradedExample("c", [0, 1])]
    assert fitted_task(GradedTask(), graded, graded, None, TrainConfig(loss="db")).loss == "db"


@pytest.mark.parametrize("loss", ["db", "cb-ntr", "zlpr", "bce"])
def test_balanced_losses_learn_and_round_trip(loss, tmp_path):
    clf = fit(loss=loss, out_dir=tmp_path)
    report = clf.evaluate(TEST)  # 18 held-out texts, each level of each aspect equally often: chance is 33%
    assert report["mean"]["accuracy"] >= 90 and report["mean"]["macro_f1"] >= 90, report["mean"]
    assert clf.task.loss == loss and clf.config["loss"] == loss and clf.config["decision"] == "argmax"
    assert clf.config["loss_resolved"]["name"] == loss and "one-hot (aspect, level)" in clf.config["loss_resolved"]["form"]
    folder = tmp_path / "model"
    assert json.loads((folder / "mltc.json").read_text())["task"]["loss"] == loss
    assert json.loads((folder / "config.json").read_text())["loss"] == loss
    loaded = mltc.load(folder)
    texts = [e.text for e in TEST] + ["", "unseen words only"]
    assert loaded.task.loss == loss and loaded.task.describe()["loss"] == loss
    assert np.array_equal(loaded.scores(texts), clf.scores(texts))
    assert loaded.predict(texts) == clf.predict(texts)
    scores = clf.scores(texts)  # a probability per level of each aspect, whatever the loss
    assert scores.shape == (len(texts), 2, 3) and np.allclose(scores.sum(-1), 1.0)
    logits = clf.network(**clf.featurizer.batch(clf.featurizer.encode(texts), np.arange(len(texts)))).detach()
    sigmoid = torch.sigmoid(logits).reshape(-1, 2, 3).numpy()  # the argmax of the sigmoids, per aspect
    assert np.array_equal(clf.task.decide(scores), sigmoid.argmax(-1))
    assert np.allclose(scores, torch.softmax(logits.reshape(-1, 2, 3), -1).numpy(), atol=1e-6)


def test_ce_stays_the_default_and_its_folder_has_no_loss_entry(tmp_path):
    clf = fit(epochs=3, out_dir=tmp_path)
    assert clf.task.loss == "ce" and clf.config["loss"] == "ce" and clf.config["loss_resolved"]["name"] == "ce"
    meta = json.loads((tmp_path / "model" / "mltc.json").read_text())
    assert meta["task"] == {"name": "graded", "aspects": ASPECTS, "levels": LEVELS, "decision": "argmax"}
    assert mltc.load(tmp_path / "model").task.loss == "ce"


def test_the_saved_loss_entry_is_checked(tmp_path):
    clf = fit(loss="db", epochs=2, out_dir=tmp_path)
    meta_path = tmp_path / "model" / "mltc.json"
    meta = json.loads(meta_path.read_text())
    for bad in (5, "", "../../etc", "x" * 65):
        meta["task"]["loss"] = bad
        meta_path.write_text(json.dumps(meta))
        with pytest.raises(ModelFormatError, match="'loss'"):
            mltc.load(tmp_path / "model")
    meta["task"]["loss"] = "a-plugin-loss"  # unknown here, but the scores do not depend on it
    meta_path.write_text(json.dumps(meta))
    assert mltc.load(tmp_path / "model").predict(["tasty"]) == clf.predict(["tasty"])
    old = shutil.copytree(tmp_path / "model", tmp_path / "old")
    del meta["task"]["loss"]  # a folder written before the loss was recorded: a ce model
    (old / "mltc.json").write_text(json.dumps(meta))
    assert mltc.load(old).task.loss == "ce" and mltc.load(old).predict(["tasty"]) == clf.predict(["tasty"])


@pytest.mark.parametrize("change,option,match", [
    (dict(loss="no-such-loss"), "loss", "left out .* or one of bce, fl, cb, r-fl, ntr-fl, db-0fl, cb-ntr, db, zlpr"),
    (dict(loss="sq-hinge"), "loss", "one-hot"),
    (dict(loss="db", loss_options={"no_such_constant": 1}), "loss_options", "no_such_constant"),
    (dict(loss="db", loss_preset="no-such-preset"), "loss_preset", "reuters, pubmed"),
    (dict(loss_options={"gamma": 1.0}), "loss_options", "with loss ce"),
])
def test_a_loss_the_graded_task_cannot_train_is_refused_before_work(change, option, match, monkeypatch):
    monkeypatch.setattr(trainer_mod, "build_model_parts", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(OptionError, match=match) as info:
        fit(**change)
    assert info.value.option == option


def test_cli_trains_a_graded_model_with_db(tmp_path):
    def write(path, examples):
        path.write_text("text\t" + ",".join(ASPECTS) + "\n"
                        + "".join(f"{e.text}\t{','.join(map(str, e.levels))}\n" for e in examples))
        return str(path)

    tr, va, te = write(tmp_path / "tr.tsv", TRAIN), write(tmp_path / "va.tsv", VALIDATION), write(tmp_path / "te.tsv", TEST)
    res = CliRunner().invoke(cli, ["train", "--fine-grained", "--train", tr, "--validation", va, "--test", te, "--loss", "db",
                                   "--epochs", "10", "--level-names", ",".join(LEVELS), "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    clf = mltc.load(tmp_path / "run" / "model")
    assert clf.task.loss == "db" and clf.config["loss"] == "db" and clf.config["optimizer"] == "sgd"
    assert clf.metrics["test"]["mean"]["accuracy"] >= 90, clf.metrics["test"]
    assert "validation: 9 texts" in res.output and "test: 18 texts" in res.output, res.output


@pytest.mark.parametrize("spelling", ["ce", "cross-entropy", "CE"])
def test_ce_may_be_named_for_a_graded_model_and_is_the_default(tmp_path, spelling):
    def write(path, examples):
        path.write_text("text\t" + ",".join(ASPECTS) + "\n"
                        + "".join(f"{e.text}\t{','.join(map(str, e.levels))}\n" for e in examples))
        return str(path)

    tr, va = write(tmp_path / "tr.tsv", TRAIN), write(tmp_path / "va.tsv", VALIDATION)
    res = CliRunner().invoke(cli, ["train", "--fine-grained", "--train", tr, "--validation", va, "--loss", spelling,
                                   "--epochs", "2", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert mltc.load(tmp_path / "run" / "model").task.loss == "ce"


def test_ce_is_refused_for_a_multi_label_model(tmp_path):
    from mltc.data.examples import Example
    from mltc.training import TrainConfig, Trainer
    from mltc.training.fitters import train as train_any
    rows = [Example("wheat grain", ["grain"]), Example("oil crude", ["crude"])] * 4
    for model in ("tfidf-linear", "tfidf-mlp"):
        with pytest.raises(ValueError, match="'ce' is for fine-grained models only"):
            train_any(rows, rows, TrainConfig(model=model, loss="ce", optimizer="sgd" if model == "tfidf-mlp" else None))
    with pytest.raises(OptionError, match="fine-grained models only") as info:
        Trainer(TrainConfig(model="tfidf-mlp", loss="cross-entropy", epochs=1)).fit(rows, rows)
    assert info.value.option == "loss"
    f = tmp_path / "t.jsonl"
    f.write_text("".join('{"text": "%s", "labels": ["%s"]}\n' % (e.text, e.labels[0]) for e in rows))
    res = CliRunner().invoke(cli, ["train", "--train", str(f), "--validation", str(f), "--loss", "ce", "--out",
                                   str(tmp_path / "run")])
    assert res.exit_code == 2 and "'ce' is for fine-grained models only" in res.output, res.output
    assert not (tmp_path / "run").exists()


def test_every_registry_spelling_of_ce_is_the_per_aspect_cross_entropy():
    from mltc.tasks.graded_loss import graded_loss_name
    assert {graded_loss_name(n) for n in (None, "ce", "CE", "cross-entropy", "cross_entropy", "crossentropy")} == {"ce"}
