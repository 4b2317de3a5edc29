"""The full-batch linear fitter, its solver and cross-validated thresholds."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mltc.data import make_examples
from mltc.decision.cv import CVPerLabelThreshold, _best_cut, cv_thresholds
from mltc.io import summarize_names
from mltc.training import TrainConfig, fitter_name, train
from mltc.training.linear_parts import Design, EntryLoss, make_objective
from mltc.training.solver import lbfgs_columns


def _problem(n=300, d=40, L=5, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.2, random_state=seed, format="csr", dtype=np.float32)
    W = rng.normal(size=(d, L)).astype(np.float32) * 2
    Y = (np.asarray(X @ W) + rng.normal(size=(n, L)) * 0.5 > 0.3).astype(np.float32)
    return X, Y


def _fit(X, Y, loss_name, C, tol=1e-6):
    n, d = X.shape
    L = Y.shape[1]
    freq = Y.sum(0)
    loss = EntryLoss(loss_name, freq, n, "reuters", sp.csr_matrix(Y), {})
    cols = torch.arange(L)
    fg = make_objective(Design(X), torch.from_numpy(Y), loss, 1.0 / C, cols, loss.weights(cols))
    res = lbfgs_columns(fg, torch.zeros(d + 1, L), tol=tol, max_iter=2000, ftol=0.0, joint=loss.joint)
    return res, fg


def test_bce_solution_matches_scikit_learn_logistic_regression():
    from sklearn.linear_model import LogisticRegression
    X, Y = _problem()
    res, _ = _fit(X, Y, "bce", C=2.0)
    assert res.converged.all()
    for j in range(Y.shape[1]):
        ref = LogisticRegression(C=2.0, tol=1e-10, max_iter=10_000).fit(X.toarray(), Y[:, j])
        np.testing.assert_allclose(res.W[:-1, j].numpy(), ref.coef_[0], atol=2e-3)
        assert abs(res.W[-1, j].item() - ref.intercept_[0]) < 2e-3


@pytest.mark.parametrize("loss_name", ["fl", "ntr-fl", "cb-ntr", "db", "zlpr"])
def test_every_loss_reaches_a_stationary_point_no_worse_than_torch_lbfgs(loss_name):
    X, Y = _problem(n=120, d=15, L=4, seed=1)
    res, fg = _fit(X, Y, loss_name, C=1.0)
    f, G = fg(res.W, torch.arange(Y.shape[1]))
    assert G.norm() < 1e-3 * max(1.0, fg(torch.zeros_like(res.W), torch.arange(4))[1].norm().item())
    # reference: torch's own L-BFGS on the summed objective
    W = torch.zeros_like(res.W, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W], max_iter=500, tolerance_grad=1e-10, tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        fv, Gv = fg(W.detach().float(), torch.arange(Y.shape[1]))
        W.grad = Gv.double()
        return fv.sum()
    opt.step(closure)
    f_ref, _ = fg(W.detach().float(), torch.arange(Y.shape[1]))
    assert f.sum().item() <= f_ref.sum().item() * (1 + 1e-4) + 1e-4


def test_columns_are_independent_problems():
    X, Y = _problem(L=6, seed=2)
    together, _ = _fit(X, Y, "bce", C=1.0)
    alone, _ = _fit(X, Y[:, [3]], "bce", C=1.0)
    np.testing.assert_allclose(together.W[:, 3].numpy(), alone.W[:, 0].numpy(), atol=1e-3)


@pytest.mark.parametrize("max_iter", [300, 15])
def test_columns_that_stop_early_are_frozen_with_the_result_of_running_alone(max_iter):
    """Columns stop at different iterations (frozen in place, the block compacted later): each column's
    iterations, weights and convergence flag are those of the column run alone, also when max_iter cuts
    some of them short."""
    X, Y = _problem(n=400, d=60, L=8, seed=3)
    Y[:, 0] = 0
    Y[:5, 0] = 1  # a rare label
    Y[:, 1] = np.asarray(X[:, 0].todense()).ravel() > 0  # one feature decides it
    n, d = X.shape
    loss = EntryLoss("bce", Y.sum(0), n, "reuters", sp.csr_matrix(Y), {})

    def run(cols_np):
        cols = torch.tensor(cols_np)
        fg = make_objective(Design(X), torch.from_numpy(Y[:, cols_np]), loss, 1.0 / 30, cols, None)
        return lbfgs_columns(fg, torch.zeros(d + 1, len(cols_np)), tol=1e-3, max_iter=max_iter)

    block = run(list(range(Y.shape[1])))
    if max_iter == 15:  # some columns stopped, the others were cut short
        assert 0 < int(block.converged.sum()) < Y.shape[1]
    else:
        assert len(set(block.iterations.tolist())) > 2  # the columns did stop at different iterations
    for j in range(Y.shape[1]):
        alone = run([j])
        assert alone.iterations.item() == block.iterations[j].item()
        assert alone.converged.item() == block.converged[j].item()
        np.testing.assert_allclose(alone.W[:, 0].numpy(), block.W[:, j].numpy(), atol=1e-4)


def test_best_cut_separates_and_micro_plus_macro_silences_a_hopeless_label():
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.1
    s = np.where(y, rng.normal(3, 0.5, 300), rng.normal(-3, 0.5, 300))
    th, tp, fp, fn = _best_cut(s, y, "micro+macro", {"tp": 0.0, "fp": 0.0, "fn": 0.0, "labels": 1}, 0.1)
    assert (tp, fp, fn) == (int(y.sum()), 0, 0) and s[y].min() > th > s[~y].max()
    # a label whose scores carry no signal, after many well-predicted labels: predicting it costs micro-F1
    noise = rng.normal(size=300)
    yn = rng.random(300) < 0.05
    th, tp, fp, fn = _best_cut(noise, yn, "micro+macro", {"tp": 5000.0, "fp": 200.0, "fn": 200.0, "labels": 80}, 0.1)
    assert tp + fp == 0 and th > noise.max()
    # SCut with FBR: the best F1 of that label is below fbr = 0.5, so it stays silent too
    th, tp, fp, fn = _best_cut(noise, yn, "f1", {}, 0.5)
    assert tp + fp == 0


def test_label_without_training_positive_is_never_predicted():
    Y = sp.csr_matrix(np.array([[1, 0]] * 6 + [[0, 0]] * 6, dtype=np.float32))
    scores = np.random.default_rng(0).normal(size=(12, 2)).astype(np.float32)
    d = cv_thresholds([(np.array([0, 1]), scores, np.arange(12) % 3)], Y, np.array([6, 0]), 2)
    assert d.thresholds_[1] == 1.0
    assert not d.predict(np.ones((3, 2)) * 0.999999)[:, 1].any()


def _long_tail_corpus(n, labels, seed):
    """Texts whose words reveal their labels; label frequencies follow a Zipf law, many labels rare."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, labels + 1) ** 1.1
    p /= p.sum()
    texts, labs = [], []
    for _ in range(n):
        k = 1 + rng.poisson(0.8)
        ls = sorted(set(rng.choice(labels, size=k, p=p).tolist()))
        words = [f"w{l}x{rng.integers(3)}" for l in ls for _ in range(3)] + [f"noise{rng.integers(400)}" for _ in range(12)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labs.append([f"L{l}" for l in ls])
    return make_examples(texts, labs)


@pytest.mark.slow
def test_many_labels_cv_thresholds_keep_cardinality_near_gold():
    train_ex = _long_tail_corpus(1500, 300, 0)
    val_ex = _long_tail_corpus(200, 300, 1)
    test_ex = _long_tail_corpus(600, 300, 2)
    gold = np.mean([len(e.labels) for e in test_ex])
    clf = train(train_ex, val_ex, TrainConfig(decision="cv"), progress=False)
    assert isinstance(clf.decision, CVPerLabelThreshold)
    card = clf.decide(clf.scores([e.text for e in test_ex])).sum(1).mean()
    assert 0.6 * gold <= card <= 1.5 * gold
    # no label fires on most texts (the failure of thresholds fitted on a few validation positives)
    rate = clf.decide(clf.scores([e.text for e in test_ex])).mean(0)
    assert rate.max() < 0.5
    # the default chooses on validation and is never worse there than one global threshold
    auto = train(train_ex, val_ex, TrainConfig(), progress=False)
    cands = auto.metrics["decision_candidates"]
    best = cands[cands["chosen"]]
    assert best["micro_f1"] + best["macro_f1"] >= cands["global"]["micro_f1"] + cands["global"]["macro_f1"]


def test_default_fitter_is_linear_and_saves_no_checkpoint(tmp_path, toy):
    import mltc
    tr, va = toy
    assert fitter_name(TrainConfig()) == "linear"
    assert fitter_name(TrainConfig(optimizer="sgd")) == "neural"
    clf = train(tr, va, TrainConfig(cv_folds=0), out_dir=tmp_path / "run", progress=False)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["model"]
    again = mltc.load(tmp_path / "run")
    texts = [e.text for e in va]
    np.testing.assert_allclose(again.scores(texts), clf.scores(texts), atol=1e-6)
    assert clf.config["loss"] == "sq-hinge" and clf.metrics["solver"]["solver"] == "liblinear"
    bce = train(tr, va, TrainConfig(loss="bce", cv_folds=0), progress=False)
    assert bce.metrics["solver"]["solver"] == "lbfgs" and bce.metrics["solver"]["labels_not_converged"] == 0


def test_sparse_weights_for_many_labels_round_trip(tmp_path):
    import mltc
    train_ex = _long_tail_corpus(800, 900, 3)
    val_ex = _long_tail_corpus(100, 900, 4)
    clf = train(train_ex, val_ex, TrainConfig(cv_folds=0, solver_options={"prune": 0.05, "dense_limit": 0}),
                out_dir=tmp_path / "r", progress=False)
    assert clf.network_spec["class"] == "SparseWeightLinear"
    again = mltc.load(tmp_path / "r")
    texts = [e.text for e in val_ex[:30]]
    np.testing.assert_allclose(again.scores(texts), clf.scores(texts), atol=1e-6)


def test_unseen_validation_labels_are_summarised(caplog, toy):
    tr, va = toy
    va = list(va) + make_examples([f"text {i}" for i in range(30)], [[f"new{i:02d}"] for i in range(30)])
    with caplog.at_level(logging.WARNING, logger="mltc"):
        train(tr, va, TrainConfig(cv_folds=0), progress=False)
    msg = " ".join(r.getMessage() for r in caplog.records if "unseen" in r.getMessage())
    assert "30 (new00, new01" in msg and "new29" not in msg and "20 more" in msg
    assert summarize_names(["b", "a"]) == "2 (a, b)"


def test_cv_decision_and_sparse_weights_reload_and_damage_is_named(tmp_path):
    import mltc
    from safetensors.torch import load_file, save_file
    from mltc.modelcheck import ModelFormatError
    train_ex = _long_tail_corpus(600, 400, 5)
    val_ex = _long_tail_corpus(100, 400, 6)
    clf = train(train_ex, val_ex, TrainConfig(decision="cv", solver_options={"dense_limit": 0, "prune": 0.05}),
                out_dir=tmp_path / "r",
                progress=False)
    again = mltc.load(tmp_path / "r")
    assert again.decision.kind == "cv-per-label"
    texts = [e.text for e in val_ex[:20]]
    assert again.predict(texts) == clf.predict(texts)
    f = tmp_path / "r" / "model" / "model.safetensors"
    tensors = load_file(str(f))
    tensors["indices"][0] = 10**6  # a label index out of range
    save_file(tensors, str(f), metadata={"format": "mltc-model"})
    with pytest.raises(ModelFormatError, match="model.safetensors"):
        mltc.load(tmp_path / "r")


@pytest.mark.parametrize("options,match", [({"C": 0}, "C must lie"), ({"tol": float("nan")}, "tol must lie"),
                                           ({"max_iter": 1.5}, "max_iter must be an integer"),
                                           ({"lbfgs_m": 3}, "unknown solver option")])
def test_solver_options_are_checked_before_work(toy, options, match):
    tr, va = toy
    with pytest.raises(ValueError, match=match):
        train(tr, va, TrainConfig(solver_options=options), progress=False)


def test_blocks_of_labels_give_the_model_and_thresholds_of_one_block():
    """Thresholds are built block by block as labels are fitted (one block of out-of-fold scores held at a
    time); the micro counts carried between blocks make the result that of one block of all labels."""
    train_ex = _long_tail_corpus(400, 60, 5)
    val_ex = _long_tail_corpus(80, 60, 6)
    one = train(train_ex, val_ex, TrainConfig(decision="cv", solver_options={"backend": "sklearn"}, threads=1),
                progress=False)
    many = train(train_ex, val_ex, TrainConfig(decision="cv", solver_options={"backend": "sklearn", "block_size": 7},
                                               threads=1), progress=False)
    assert many.metrics["solver"]["blocks"] > 1 and one.metrics["solver"]["blocks"] == 1
    np.testing.assert_array_equal(many.decision.thresholds_, one.decision.thresholds_)
    np.testing.assert_array_equal(many.linear_weights.W, one.linear_weights.W)


def test_auto_predicts_a_label_for_every_text_only_where_every_training_text_has_one(tmp_path):
    import mltc
    from mltc.data import Example
    train_ex, val_ex = _long_tail_corpus(400, 20, 0), _long_tail_corpus(100, 20, 1)
    clf = train(train_ex, val_ex, TrainConfig(), out_dir=tmp_path / "run", progress=False)
    assert clf.decision.min_labels == 1
    assert clf.metrics["decision_candidates"]["min_labels"]["value"] == 1
    assert clf.metrics["decision_candidates"]["min_labels"]["labelled_share"] == 1.0
    again = mltc.load(tmp_path / "run")
    assert again.decision.min_labels == 1
    assert (again.decide(again.scores(["noise1 noise2 noise3"])).sum(1) == 1).all()  # nothing passes: the best one
    # one training text in ten without a label: no minimum
    unlabelled = [Example(f"noise{i} noise{i + 1}", ()) for i in range(45)]
    clf0 = train(train_ex + unlabelled, val_ex, TrainConfig(), progress=False)
    assert clf0.decision.min_labels == 0 and "min_labels" not in clf0.metrics["decision_candidates"]
    # a min_labels given by the user wins
    clf_given = train(train_ex, val_ex, TrainConfig(decision_options={"min_labels": 0}), progress=False)
    assert clf_given.decision.min_labels == 0


def test_stratified_cv_split_deals_every_rare_label_over_the_folds(monkeypatch):
    """``cv_split="stratified"`` reaches the fitter: the folds it scores hold the positives of each label with
    two or three training texts in as many folds (a random draw puts some in one fold), and it is saved."""
    import mltc.training.linear as lin
    seen = {}
    real = lin.assign_folds

    def spy(Y, folds, seed, split="random"):
        seen["Y"], seen["split"] = sp.csr_matrix(Y), split
        seen["fold_of"] = real(Y, folds, seed, split)
        return seen["fold_of"]

    monkeypatch.setattr(lin, "assign_folds", spy)
    train_ex = _long_tail_corpus(600, 150, 3)
    val_ex = _long_tail_corpus(100, 150, 4)
    clf = train(train_ex, val_ex, TrainConfig(decision="cv", cv_split="stratified", threads=1), progress=False)
    assert seen["split"] == "stratified" and clf.config["cv_split"] == "stratified"
    Y, fold_of = seen["Y"], seen["fold_of"]
    counts = np.asarray(Y.sum(0)).ravel()
    few = np.flatnonzero((counts >= 2) & (counts <= 3))
    assert len(few) >= 5
    folds_hit = [len(set(fold_of[Y[:, j].nonzero()[0]].tolist())) for j in few]
    assert folds_hit == counts[few].tolist()


def test_the_linear_models_global_threshold_searches_its_wide_grid_and_compare_keeps_the_papers(toy):
    from mltc.compare import row_config
    from mltc.decision.thresholds import PAPER_GRID, WIDE_GRID
    tr, va = toy
    clf = train(tr, va, TrainConfig(decision="global"))
    assert clf.decision.grid == WIDE_GRID and clf.config["decision_options"] == {"grid": "wide"}
    given = train(tr, va, TrainConfig(decision="global", decision_options={"grid": "paper"}))
    assert given.decision.grid == PAPER_GRID  # a grid the user gives is kept
    # mltc compare is the paper's protocol: its loss rows search 0.40..0.60 whatever the model's own grid
    assert row_config("db", TrainConfig()).decision_options == {"grid": "paper"}
    assert row_config("db", TrainConfig(optimizer="sgd")).decision_options == {"grid": "paper"}
    assert row_config("db", TrainConfig(decision_options={"grid": "wide"})).decision_options == {"grid": "wide"}
    assert row_config("zlpr", TrainConfig()).decision_options == {}  # its own decision: logit 0
    assert row_config("db", TrainConfig(model="svm")).decision_options == {}  # an SVM keeps its margin grid


def test_a_global_threshold_at_the_end_of_its_grid_is_warned_about(toy, caplog):
    examples = _long_tail_corpus(300, 8, seed=3)
    with caplog.at_level(logging.WARNING, logger="mltc"):  # sigmoids of margins: the best cut is well below 0.6
        clf = train(examples[:240], examples[240:], TrainConfig(decision="global", decision_options={"grid": [0.6, 0.7, 0.8]}))
    assert clf.decision.threshold_ == 0.6
    assert "lowest value of its grid (0.6..0.8)" in caplog.text and "--threshold-grid takes a named grid" in caplog.text
    tr, va = toy
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mltc"):
        train(tr, va, TrainConfig(decision="global"))
    assert "of its grid" not in caplog.text
