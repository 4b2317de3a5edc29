"""Metrics cross-checked against scikit-learn; decisions fitted, saved and reloaded."""
import numpy as np
import pytest
from sklearn.metrics import f1_score, ndcg_score, precision_score, recall_score

from mltc.decision import (FixedThreshold, GlobalThreshold, PAPER_GRID, PerLabelThreshold, TopK, decision_from_dict,
                           make_decision)
from mltc.metrics import (MetricAccumulator, confused_pairs, evaluate, micro_macro, ndcg_at_k, precision_at_k,
                          precision_recall_f1)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    Y = (rng.random((200, 12)) < 0.2).astype(int)
    Y[:, 11] = 0  # a label with no true positive
    scores = np.clip(Y * 0.4 + rng.random(Y.shape) * 0.7, 0, 1)
    P = (scores > 0.5).astype(int)
    P[:, 10] = 0  # a label never predicted
    P[:, 11] = 0  # ... and one neither true nor predicted
    return Y, P, scores


@pytest.mark.parametrize("avg", ["micro", "macro"])
def test_prf_matches_sklearn(data, avg):
    Y, P, _ = data
    ours = precision_recall_f1(Y, P, avg)
    assert ours["precision"] == pytest.approx(precision_score(Y, P, average=avg, zero_division=0))
    assert ours["recall"] == pytest.approx(recall_score(Y, P, average=avg, zero_division=0))
    assert ours["f1"] == pytest.approx(f1_score(Y, P, average=avg, zero_division=0))


def test_per_label_and_subset_match_sklearn(data):
    Y, P, _ = data
    per = precision_recall_f1(Y, P, None)
    assert np.allclose(per["f1"], f1_score(Y, P, average=None, zero_division=0))
    assert per["f1"][11] == 0.0  # neither true nor predicted counts as 0
    cols = [0, 3, 11]
    mm = micro_macro(Y, P, cols)
    assert mm["macro_f1"] == pytest.approx(100 * f1_score(Y[:, cols], P[:, cols], average="macro", zero_division=0))
    assert mm["micro_f1"] == pytest.approx(100 * f1_score(Y[:, cols], P[:, cols], average="micro", zero_division=0))


def test_ranking_metrics(data):
    Y, _, s = data
    keep = Y.sum(1) > 0
    for k in (1, 3, 5):
        assert ndcg_at_k(Y, s, k) == pytest.approx(ndcg_score(Y[keep], s[keep], k=k))
        top = np.argsort(-s[keep], 1)[:, :k]
        assert precision_at_k(Y, s, k) == pytest.approx(np.take_along_axis(Y[keep], top, 1).sum(1).mean() / k)


def test_p_at_k_by_hand():
    Y = np.array([[1, 0, 1], [0, 1, 0]])
    s = np.array([[0.9, 0.8, 0.1], [0.2, 0.3, 0.1]])
    assert precision_at_k(Y, s, 1) == pytest.approx(1.0)
    assert precision_at_k(Y, s, 2) == pytest.approx((1 / 2 + 1 / 2) / 2)


def test_confused_pairs():
    Y = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0]])
    P = np.array([[1, 1, 0], [0, 1, 1], [0, 1, 0]])
    pairs = confused_pairs(Y, P, ["a", "b", "c"])
    assert pairs[0] == {"predicted": "b", "gold": "a", "count": 2, "share_of_gold": 1.0}
    assert pairs[1]["predicted"] == "c" and pairs[1]["count"] == 1 and len(pairs) == 2


def test_evaluate_breakdown(data):
    Y, P, s = data
    freq = np.array([100, 50, 40, 35, 34, 20, 9, 8, 3, 1, 0, 0])
    r = evaluate(Y, P, s, class_freq=freq, label_names=[f"l{i}" for i in range(12)])
    assert r["groups"]["head"]["num_labels"] == 4 and r["groups"]["tail"]["num_labels"] == 5
    assert r["groups"]["tail"]["macro_f1"] == pytest.approx(
        100 * f1_score(Y[:, 7:], P[:, 7:], average="macro", zero_division=0))
    single = Y.sum(1) == 1
    assert r["by_num_labels"]["1"]["micro_f1"] == pytest.approx(100 * f1_score(Y[single], P[single], average="micro"))
    assert r["by_num_labels"]["1"]["num_texts"] == int(single.sum())
    assert set(r["ranking"]) == {"P@1", "nDCG@1", "P@3", "nDCG@3", "P@5", "nDCG@5"}
    assert len(r["per_label"]) == 12 and r["per_label"][10]["train_freq"] == 0


def test_accumulator_equals_one_shot(data):
    Y, P, s = data
    acc = MetricAccumulator(12, ["micro_f1", "macro_f1", "P@1", "nDCG@3"])
    for i in range(0, 200, 37):
        acc.update(Y[i:i + 37], P[i:i + 37], s[i:i + 37])
    got = acc.compute()
    assert got["micro_f1"] == pytest.approx(micro_macro(Y, P)["micro_f1"])
    assert got["macro_f1"] == pytest.approx(micro_macro(Y, P)["macro_f1"])
    assert got["P@1"] == pytest.approx(100 * precision_at_k(Y, s, 1))
    assert got["nDCG@3"] == pytest.approx(100 * ndcg_at_k(Y, s, 3))
    with pytest.raises(ValueError, match="unknown metric"):
        MetricAccumulator(3, ["accuracy"])


# ------------------------------------------------------------------------------ decisions
def test_global_threshold_picks_best_grid_value(data):
    Y, _, s = data
    d = GlobalThreshold().fit(s, Y)
    best = max(PAPER_GRID, key=lambda t: (f1_score(Y, (s > t).astype(int), average="micro"), -t))
    assert d.threshold_ == pytest.approx(best)
    assert len(d.curve_["micro_f1"]) == len(PAPER_GRID)
    assert np.array_equal(d.predict(s), s > best)


def test_per_label_threshold_and_fallback(data):
    Y, _, s = data
    d = PerLabelThreshold(min_support=5).fit(s, Y)
    assert 11 in d.fallback_ and d.thresholds_[11] == d.global_threshold_
    j = 0
    best_f1 = f1_score(Y[:, j], s[:, j] > d.thresholds_[j])
    assert all(best_f1 >= f1_score(Y[:, j], s[:, j] > t) - 1e-12 for t in d.grid)


def test_topk_and_min_labels():
    s = np.array([[0.1, 0.3, 0.2], [0.9, 0.8, 0.7]])
    assert TopK(2).predict(s).tolist() == [[False, True, True], [True, True, False]]
    d = FixedThreshold(0.5, min_labels=1)
    assert d.predict(s).tolist() == [[False, True, False], [True, True, True]]


def test_zero_decision():
    assert make_decision("zero").threshold_ == 0.5
    assert make_decision("zero", "identity").threshold_ == 0.0
    assert make_decision("global", "identity").grid[0] == -1.0


@pytest.mark.parametrize("decision", [GlobalThreshold(), PerLabelThreshold(), TopK(3), FixedThreshold(0.3)])
def test_decision_json_roundtrip(decision, data, tmp_path):
    Y, _, s = data
    decision.fit(s, Y)
    decision.save(tmp_path / "d.json")
    again = type(decision).load(tmp_path / "d.json")
    assert np.array_equal(again.predict(s), decision.predict(s))
    assert decision_from_dict(decision.to_dict()).to_dict() == decision.to_dict()


def test_decision_rejects_bad_scores():
    with pytest.raises(ValueError, match="NaN"):
        FixedThreshold(0.5).predict(np.array([[np.nan]]))
    with pytest.raises(RuntimeError, match="not fitted"):
        GlobalThreshold().predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="unknown decision"):
        make_decision("magic")


def test_a_global_threshold_at_the_end_of_its_grid_with_f1_still_rising_is_noted():
    from mltc.decision.edges import grid_edge_note
    rng = np.random.default_rng(0)
    Y = rng.random((400, 3)) < 0.3
    spread = np.where(Y, rng.uniform(0.3, 0.7, Y.shape), rng.uniform(0.0, 0.2, Y.shape))  # positives below 0.40 too
    low = GlobalThreshold(grid=PAPER_GRID).fit(spread, Y)
    assert low.threshold_ == 0.40 and "lowest value of its grid (0.4..0.6)" in grid_edge_note(low)
    high = GlobalThreshold(grid=[0.01, 0.02, 0.03]).fit(spread, Y)  # every grid value predicts every positive
    assert high.threshold_ == 0.03 and "highest value of its grid" in grid_edge_note(high)
    inside = np.where(Y, rng.uniform(0.55, 0.9, Y.shape), rng.uniform(0.0, 0.45, Y.shape))
    assert grid_edge_note(GlobalThreshold(grid=PAPER_GRID).fit(inside, Y)) is None  # the best is inside the grid
    flat = np.where(Y, 0.9, 0.1)  # every grid value scores the same: the first is taken, nothing is beyond it
    assert grid_edge_note(GlobalThreshold(grid=PAPER_GRID).fit(flat, Y)) is None
    assert grid_edge_note(FixedThreshold(0.5)) is None and grid_edge_note(TopK(1)) is None
    unordered = GlobalThreshold(grid=[0.6, 0.5, 0.4, 0.45]).fit(spread, Y)  # a user's grid in any order
    assert unordered.threshold_ == 0.4 and "lowest value of its grid (0.4..0.6)" in grid_edge_note(unordered)
    margins = np.where(Y, rng.uniform(1.5, 3.0, Y.shape), rng.uniform(-3.0, -1.5, Y.shape))
    svm = GlobalThreshold(grid=[-1.0, -0.5, 0.0, 0.5, 1.0]).fit(margins, Y)  # SVM margins: every value separates
    assert grid_edge_note(svm) is None
