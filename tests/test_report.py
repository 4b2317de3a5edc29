"""Reports: figures drawn from real run data, self-contained HTML, rendering in headless Chromium."""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mltc.cli.main import cli
from mltc.compare import run_compare
from mltc.data import LabelSpace
from mltc.report import figures
from mltc.report.builders import compare_report
from mltc.training import TrainConfig

FIGURES = ["long_tail", "cooccurrence", "group_f1", "label_f1_vs_frequency", "threshold_curves", "confused_pairs"]


@pytest.fixture(scope="module")
def small_compare(reuters, tmp_path_factory):
    from mltc.data import DatasetSplits
    data = DatasetSplits("reuters21578", reuters.train[:2000], reuters.validation[:400], reuters.test[:800],
                         labels=reuters.labels)
    out = tmp_path_factory.mktemp("cmp")
    summary = run_compare(data, ["svm", "bce", "ntr-fl"], TrainConfig(), out)
    return data, summary, compare_report(summary, data, out / "report")


@pytest.mark.slow
def test_compare_report_files(small_compare):
    _, _, index = small_compare
    folder = index.parent
    for name in FIGURES:
        assert (folder / f"{name}.png").stat().st_size > 1000, name
        assert (folder / f"{name}.svg").read_text().lstrip().startswith(("<?xml", "<svg")), name


@pytest.mark.slow
def test_html_references_nothing_outside(small_compare):
    html = small_compare[2].read_text(encoding="utf-8")
    refs = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]*)['"]""", html)
    assert refs and all(r.startswith("data:image/png;base64,") for r in refs)
    assert "<link" not in html and "<script" not in html and "url(" not in html
    assert len(re.findall(r"<img ", html)) == len(FIGURES)


@pytest.mark.slow
def test_figures_show_the_run_data(small_compare):
    data, summary, _ = small_compare
    space = LabelSpace(data.labels).fit(e.labels for e in data.train)
    fig = figures.long_tail(space.class_freq_, space.labels)
    heights = sorted((p.get_height() for c in fig.axes[0].containers for p in c), reverse=True)
    assert np.allclose(heights, np.maximum(np.sort(space.class_freq_)[::-1], 0.8))
    rows = [{"name": r["name"], "display": r["name"],
             "scores": {"total": (r["test"]["total"]["micro_f1"], r["test"]["total"]["macro_f1"]),
                        **{g: (v["micro_f1"], v["macro_f1"]) for g, v in r["test"]["groups"].items()}}}
            for r in summary["rows"]]
    fig = figures.group_f1(rows)
    micro_bars = [p.get_height() for c in fig.axes[0].containers for p in c]
    expected = [rows[i]["scores"][g][0] for i in range(len(rows)) for g in ("total", "head", "medium", "tail")]
    assert np.allclose(sorted(micro_bars), sorted(expected))
    curve = summary["rows"][1]["decision"]["curve"]
    fig = figures.threshold_curves({"bce": {**curve, "threshold": summary["rows"][1]["decision"]["threshold"]}})
    line = fig.axes[0].lines[0]
    assert np.allclose(line.get_xdata(), curve["grid"]) and np.allclose(line.get_ydata(), curve["micro_f1"])
    per_label = summary["rows"][2]["test"]["per_label"]
    fig = figures.label_f1_vs_frequency({"ntr-fl": per_label})
    offsets = fig.axes[0].collections[0].get_offsets()
    assert np.allclose(offsets[:, 1], [p["f1"] for p in per_label])


def test_aspect_confusion_figure():
    M = {"joy": np.array([[5, 1], [2, 7]]), "anger": np.array([[9, 0], [1, 3]])}
    fig = figures.aspect_confusion(M, ["none", "strong"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["5", "1", "2", "7"] and fig.axes[1].get_title() == "anger"


@pytest.mark.slow
def test_stats_and_evaluate_reports_from_cli(tmp_path, data_dir, small_compare):
    runner = CliRunner()
    res = runner.invoke(cli, ["stats", "--data", "cail2019-labor", "--data-dir", str(data_dir), "--report", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "s" / "long_tail.png").exists() and (tmp_path / "s" / "cooccurrence.svg").exists()
    train = tmp_path / "train.jsonl"
    data = small_compare[0]
    with open(train, "w") as fh:
        for e in data.train[:600]:
            fh.write(json.dumps({"text": e.text, "labels": list(e.labels)}) + "\n")
    val = tmp_path / "val.jsonl"
    with open(val, "w") as fh:
        for e in data.validation[:200]:
            fh.write(json.dumps({"text": e.text, "labels": list(e.labels)}) + "\n")
    res = runner.invoke(cli, ["train", "--train", str(train), "--validation", str(val), "--decision", "global",
                              "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["evaluate", str(tmp_path / "m"), "--test", str(val), "--report", str(tmp_path / "e")])
    assert res.exit_code == 0, res.output
    for name in ("long_tail", "group_f1", "label_f1_vs_frequency", "threshold_curve", "confused_pairs"):
        assert (tmp_path / "e" / f"{name}.png").exists(), name


@pytest.mark.slow
def test_report_renders_in_headless_chromium(small_compare):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_bin = shutil.which("chromedriver")
    assert chromium and driver_bin, "chromium and chromedriver are installed by .ci/run (Debian packages)"
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
    try:
        driver.get(Path(small_compare[2]).resolve().as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        assert len(images) == len(FIGURES) and all(c and w > 300 and h > 150 for c, w, h in images)
        assert driver.execute_script("return document.querySelectorAll('table').length") >= 2
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
    finally:
        driver.quit()
