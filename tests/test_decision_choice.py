"""decision='auto': candidates scored on validation, the standard-error rule (two) over tiers of candidates."""
from __future__ import annotations

import numpy as np

from mltc.decision.choose import MINIMUM_DROP_SE, TIER_SE, bootstrap_scores, choose_decision, tier_choice
from mltc.decision.cv import CVPerLabelThreshold
from mltc.metrics import micro_macro


def _rep(**totals):
    return {k: {"micro_f1": v / 2, "macro_f1": v / 2} for k, v in totals.items()}


def test_bootstrap_is_paired_and_centred_on_the_sample_score():
    rng = np.random.default_rng(0)
    Y = rng.random((400, 6)) < 0.2
    pred = Y ^ (rng.random(Y.shape) < 0.1)
    boot = bootstrap_scores(Y, {"a": pred, "b": pred.copy()}, samples=300, seed=1)
    assert boot["a"].shape == (300,)
    np.testing.assert_array_equal(boot["a"], boot["b"])  # same resamples for every candidate
    m = micro_macro(Y, pred)
    assert abs(boot["a"].mean() - (m["micro_f1"] + m["macro_f1"])) < 3 * boot["a"].std()
    assert boot["a"].std() > 0


def test_se_rule_keeps_the_simpler_candidate_unless_per_label_wins_clearly():
    assert TIER_SE == 2.0
    boot = {"cv": np.zeros(50), "per-label": np.r_[np.full(25, -1.0), np.full(25, 1.0)]}  # SE of the difference ~1
    assert tier_choice(_rep(cv=100.0, **{"per-label": 100.5}), boot) == "cv"
    assert tier_choice(_rep(cv=100.0, **{"per-label": 101.9}), boot) == "cv"  # within two SE, beyond one
    assert tier_choice(_rep(cv=100.0, **{"per-label": 103.0}), boot) == "per-label"
    assert tier_choice(_rep(cv=101.0, **{"per-label": 100.0}), boot) == "cv"
    # the rule concerns per-label thresholds only: among simple candidates the best score wins
    assert tier_choice(_rep(cv=100.0, **{"cv+shift": 100.2}), {"cv": np.zeros(5), "cv+shift": np.ones(5)}) == "cv+shift"


def test_the_global_threshold_replaces_the_cross_validated_ones_only_when_clearly_better():
    """Validation cannot see rare labels, so the cross-validated family is preferred: a global threshold that
    wins by less than two standard errors does not replace it; by more, it does."""
    boot = {"cv": np.zeros(50), "cv+shift": np.zeros(50), "global": np.r_[np.full(25, -1.0), np.full(25, 1.0)],
            "per-label": np.zeros(50)}
    assert tier_choice(_rep(cv=100.0, **{"cv+shift": 100.4, "global": 100.9, "per-label": 99.0}), boot) == "cv+shift"
    assert tier_choice(_rep(cv=100.0, **{"cv+shift": 100.4, "global": 102.0, "per-label": 99.0}), boot) == "cv+shift"
    assert tier_choice(_rep(cv=100.0, **{"cv+shift": 100.4, "global": 102.6, "per-label": 99.0}), boot) == "global"


def test_per_label_thresholds_within_two_se_of_the_global_one_fall_back_to_it():
    signs = np.r_[np.full(25, -1.0), np.full(25, 1.0)]
    boot = {"cv": np.zeros(50), "global": 3 * signs, "per-label": 4 * signs}  # SE vs cv ~4, vs global ~1
    # per-label best (110): cv (100) is beyond two SE of it, the global threshold (109.5) within
    assert tier_choice(_rep(cv=100.0, **{"global": 109.5, "per-label": 110.0}), boot) == "global"
    assert tier_choice(_rep(cv=100.0, **{"global": 105.0, "per-label": 110.0}), boot) == "per-label"
    assert tier_choice(_rep(cv=107.0, **{"global": 105.0, "per-label": 110.0}), boot) == "cv"
    # 7.5 behind per-label: beyond one SE of the difference (~4.04), within two
    assert tier_choice(_rep(cv=102.5, **{"global": 105.0, "per-label": 110.0}), boot) == "cv"


def test_auto_does_not_keep_per_label_thresholds_that_only_fit_validation_noise():
    """Many rare labels, few validation texts: per-label thresholds fitted on validation chase single texts;
    when they beat the cross-validated ones by less than two standard errors, auto keeps the latter."""
    rng = np.random.default_rng(3)
    n, L = 300, 40
    Y = rng.random((n, L)) < np.linspace(0.3, 0.01, L)
    scores = np.clip(0.35 * Y + rng.random((n, L)) * 0.6, 0, 1).astype(np.float32)
    cv = CVPerLabelThreshold(np.full(L, 0.5))
    decision, report = choose_decision("auto", scores, Y, cv, joint=False, options={}, seed=0)
    assert report["chosen"] in report and "micro_f1" in report[report["chosen"]]
    total = {k: v["micro_f1"] + v["macro_f1"] for k, v in report.items() if isinstance(v, dict) and "micro_f1" in v}
    if max(total, key=total.get) == "per-label":
        info = report["tier_rule"]
        kept_simple = total["per-label"] - total[info["simpler"]] <= TIER_SE * info["difference_se"]
        assert report["chosen"] == (info["simpler"] if kept_simple else "per-label")
    else:
        assert report["chosen"] == max(total, key=total.get)
    assert decision is not None


def _scored_problem(seed=5, n=200, L=12):
    rng = np.random.default_rng(seed)
    Y = rng.random((n, L)) < np.linspace(0.4, 0.05, L)
    scores = np.clip(0.3 * Y + rng.random((n, L)) * 0.7, 0, 1).astype(np.float32)
    cv = CVPerLabelThreshold(np.full(L, 0.75))  # strict: many texts pass no threshold
    return scores, Y, cv


def test_at_least_one_label_per_text_where_every_training_text_has_one():
    """auto predicts at least one label per text when (nearly) every training text carries one, after the
    choice: the candidates are compared without the minimum, the same one is chosen."""
    scores, Y, cv = _scored_problem()
    Y = Y.copy()
    Y[np.arange(len(Y)), scores.argmax(1)] |= ~Y.any(1)  # every validation text has a label, as in training
    plain, rep0 = choose_decision("auto", scores, Y, CVPerLabelThreshold(cv.thresholds_), False, {}, seed=1,
                                  labelled_share=0.5)
    assert plain.min_labels == 0 and "min_labels" not in rep0 and (plain.predict(scores).sum(1) == 0).any()
    dec, rep = choose_decision("auto", scores, Y, cv, False, {}, seed=1, labelled_share=1.0)
    assert rep["chosen"] == rep0["chosen"] and rep["min_labels"]["value"] == 1
    assert rep["min_labels"]["labelled_share"] == 1.0 and "without" in rep["min_labels"]  # it changed predictions
    pred = dec.predict(scores)
    assert (pred.sum(1) >= 1).all()
    # only texts that passed no threshold change: they get their best-scored label
    np.testing.assert_array_equal(pred[plain.predict(scores).sum(1) > 0], plain.predict(scores)[plain.predict(scores).sum(1) > 0])
    empty = plain.predict(scores).sum(1) == 0
    assert (pred[empty].argmax(1) == scores[empty].argmax(1)).all() and (pred[empty].sum(1) == 1).all()


def test_no_minimum_where_validation_shows_it_costs_more_than_two_standard_errors():
    """Texts whose gold labels were never (or once) seen in training pass no threshold, and their
    best-scored label is wrong: forcing one on them costs precision, so the minimum is dropped and the
    report says what was compared; a minimum that changes nothing (or helps) stays."""
    scores, Y, cv = _scored_problem()
    Y = Y.copy()
    rng = np.random.default_rng(3)
    lost = rng.random(len(Y)) < 0.5  # half the texts: only labels the model cannot score
    Y[lost] = False
    scores = scores.copy()
    scores[lost] = rng.random((lost.sum(), Y.shape[1])) * 0.5  # below every threshold
    dec, rep = choose_decision("auto", scores, Y, CVPerLabelThreshold(cv.thresholds_), False, {}, seed=1,
                               labelled_share=1.0)
    info = rep["min_labels"]
    assert dec.min_labels == 0 and info["value"] == 0 and info["labelled_share"] == 1.0
    without, with_min = info["without"], info["with_minimum"]
    gap = without["micro_f1"] + without["macro_f1"] - with_min["micro_f1"] - with_min["macro_f1"]
    assert gap > MINIMUM_DROP_SE * info["difference_se"] > 0
    assert (dec.predict(scores)[lost].sum(1) == 0).all() and with_min["labels_per_text"] > without["labels_per_text"]
    # the same texts with their best-scored label right: the minimum helps and stays
    Y[lost, scores[lost].argmax(1)] = True
    dec, rep = choose_decision("auto", scores, Y, CVPerLabelThreshold(cv.thresholds_), False, {}, seed=1,
                               labelled_share=1.0)
    assert dec.min_labels == 1 and rep["min_labels"]["value"] == 1
    with_min, without = rep["min_labels"]["with_minimum"], rep["min_labels"]["without"]
    assert with_min["micro_f1"] + with_min["macro_f1"] > without["micro_f1"] + without["macro_f1"]


def test_a_minimum_that_costs_less_than_two_standard_errors_is_kept():
    """The minimum is the preferred side: a small loss on validation (a few texts whose best label is
    wrong) within two standard errors keeps it."""
    scores, Y, cv = _scored_problem()
    Y = Y.copy()
    Y[np.arange(len(Y)), scores.argmax(1)] |= ~Y.any(1)
    th = CVPerLabelThreshold(cv.thresholds_)
    empty = th.predict(scores).sum(1) == 0
    wrong = np.flatnonzero(empty)[:6]  # six texts that pass no threshold: their best label made wrong
    Y[wrong, scores[wrong].argmax(1)] = False
    dec, rep = choose_decision("auto", scores, Y, th, False, {}, seed=1, labelled_share=1.0)
    info = rep["min_labels"]
    loss = (info["without"]["micro_f1"] + info["without"]["macro_f1"]
            - info["with_minimum"]["micro_f1"] - info["with_minimum"]["macro_f1"])
    assert 0 < loss <= MINIMUM_DROP_SE * info["difference_se"]
    assert dec.min_labels == 1 and info["value"] == 1


def test_a_given_min_labels_is_kept_and_other_decisions_are_untouched():
    scores, Y, cv = _scored_problem()
    dec, rep = choose_decision("auto", scores, Y, cv, False, {"min_labels": 0}, seed=1, labelled_share=1.0)
    assert dec.min_labels == 0 and "min_labels" not in rep
    dec, _ = choose_decision("global", scores, Y, None, False, {}, seed=1, labelled_share=1.0)
    assert dec.min_labels == 0
