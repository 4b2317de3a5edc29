"""``benchmarks/peers.py --only ... --keep-rows``: rows of another run are kept, marked, and the ratio says so."""
from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import peers  # noqa: E402


def _row(name, kind, micro, macro, seconds):
    return {"name": name, "kind": kind, "status": "ok", "wall_seconds": seconds, "user_seconds": seconds,
            "system_seconds": 0.0, "peak_rss_mb": 100.0,
            "metrics": {"total": {"micro_f1": micro, "macro_f1": macro}, "groups": {}, "ranking": {"P@1": 90.0},
                        "labels_per_text": 1.0}}


def test_rows_not_run_are_kept_and_marked(tmp_path):
    previous = {"started": "2026-01-01T00:00:00Z",
                "contenders": [_row("mltc", "mltc", 80.0, 40.0, 100.0), _row("svm", "peer", 81.0, 30.0, 50.0)]}
    path = tmp_path / "synthetic.json"
    path.write_text(json.dumps(previous))
    result = {"dataset": "synthetic", "contenders": [_row("mltc", "mltc", 82.0, 41.0, 40.0)]}
    peers.keep_rows(result, path)
    names = [r["name"] for r in result["contenders"]]
    assert names == ["mltc", "svm"]  # this run's mltc row replaces the old one; svm is carried over
    mltc, svm = result["contenders"]
    assert "kept_from_run" not in mltc and svm["kept_from_run"] == "2026-01-01T00:00:00Z"
    assert result["deltas"][0]["micro_f1_delta"] == 1.0 and result["deltas"][0]["best_micro_peer"] == "svm"
    # kept again by a later run: it still names the run that measured it
    again = {"dataset": "synthetic", "started": "2026-02-02T00:00:00Z", "contenders": [_row("mltc", "mltc", 83.0, 42.0, 30.0)]}
    path.write_text(json.dumps({**result, "started": "2026-02-01T00:00:00Z"}))
    peers.keep_rows(again, path)
    assert again["contenders"][1]["kept_from_run"] == "2026-01-01T00:00:00Z"


def test_no_previous_file_keeps_nothing(tmp_path):
    result = {"dataset": "x", "contenders": [_row("mltc", "mltc", 82.0, 41.0, 40.0)]}
    peers.keep_rows(result, tmp_path / "missing.json")
    assert [r["name"] for r in result["contenders"]] == ["mltc"]
