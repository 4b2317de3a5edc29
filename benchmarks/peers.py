"""mltc against its peers in one run: same split files, whole commands timed, one scorer.

For each data set this

1. writes mltc's exact splits (``mltc.load_dataset``) or the synthetic corpus
   (``benchmarks/synthetic.py``) as JSON Lines ``{"text": ..., "labels": [...]}`` files;
2. runs every contender as a WHOLE command through ``benchmarks/measure.py`` (wall clock from
   process start to exit, interpreter start and imports included; peak RSS of that command),
   each under ``--timeout``:

   * ``mltc``: ``mltc train --train tr.jsonl --validation va.jsonl --test te.jsonl --out RUN``,
     no other flag (whatever mltc's default is when this runs), and one row per
     ``--mltc-config "name=--flag value ..."``;
   * ``svm``: ``benchmarks/peer_svm.py`` (TF-IDF + OneVsRest LinearSVC, one shift tuned on validation);
   * ``lml-thresholding`` / ``lml-1vsrest``: ``benchmarks/peer_libmultilabel.py``;

3. scores every contender's test predictions with the same code (``mltc.metrics``), over ALL
   test texts and over the label columns seen in training plus any gold test label unseen in
   training (those can only be missed), and prints / writes
   ``benchmarks/results/peers/<dataset>.json`` and ``summary.md``.

mltc's test predictions are made after its timed command, from the saved run folder with
``mltc.load(RUN)`` (the fitted decision), and written in the peers' format.

    python benchmarks/peers.py reuters21578 cail2019-loan
    python benchmarks/peers.py synthetic --synthetic-scale small    # or: peers.py synthetic-small
    python benchmarks/peers.py reuters21578 --mltc-config "mlp=--model tfidf-mlp"
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import read_jsonl  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_DATASETS = ["reuters21578", "reuters21578-all", "goemotions", "cail2019-divorce", "cail2019-labor",
                    "cail2019-loan", "synthetic"]
PEERS = ["svm", "lml-thresholding", "lml-1vsrest"]
HEAD, TAIL = 35, 8
KS = (1, 3, 5)
GROUP_RANGES = {"head": (HEAD, float("inf")), "medium": (TAIL + 1, HEAD - 1), "tail": (0, TAIL)}  # training frequency


# ----------------------------------------------------------------------------- data
def write_jsonl(path: Path, examples) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for text, labels in examples:
            f.write(json.dumps({"text": text, "labels": list(labels)}, ensure_ascii=False) + "\n")




def short_name(name: str) -> str:
    """The name results are written under (``files:NAME=...`` -> ``NAME``)."""
    return name[len("files:"):].partition("=")[0] if name.startswith("files:") else name


def load_named(name: str):
    """The splits of a named mltc data set, or of ``files:NAME=train,validation,test`` in any format mltc
    reads (CSV/TSV with '|' between labels)."""
    if name.startswith("files:"):
        from mltc.data import load_files
        tr, va, te = name.partition("=")[2].split(",")
        return load_files(tr, va, te, **({"label_sep": "|"} if tr.endswith((".csv", ".tsv")) else {}))
    import mltc
    return mltc.load_dataset(name)


def prepare_splits(name: str, folder: Path, scale: str) -> tuple[str, dict[str, Path], dict]:
    """Write the three splits of ``name`` into ``folder``; returns (result name, paths, source info)."""
    if name == "synthetic" or name.startswith("synthetic-"):  # synthetic-SCALE names its scale
        sys.path.insert(0, str(HERE))
        import synthetic
        scale = synthetic.scale_of(name, scale)
        paths = synthetic.write_splits(folder, scale)
        meta = json.loads((folder / "meta.json").read_text())
        return ("synthetic" if scale == "full" else f"synthetic-{scale}"), paths, {"synthetic": meta}
    data = load_named(name)
    name = short_name(name)
    paths = {}
    for split in ("train", "validation", "test"):
        paths[split] = folder / f"{split}.jsonl"
        write_jsonl(paths[split], ((e.text, e.labels) for e in getattr(data, split)))
    return name, paths, {"dataset_labels": len(data.labels or {l for e in data.train for l in e.labels})}


# ------------------------------------------------------------------------- commands
def contender_commands(paths: dict[str, Path], work: Path, mltc_cmd: list[str], mltc_configs: list[tuple[str, list[str]]],
                       peers: list[str], python: str) -> list[dict]:
    """Each contender's name, kind, command, prediction file and (mltc) run folder."""
    data = ["--train", str(paths["train"]), "--validation", str(paths["validation"]), "--test", str(paths["test"])]
    out = []
    for name, extra in [("mltc", [])] + [(f"mltc:{n}", flags) for n, flags in mltc_configs]:
        run = work / f"run-{name.replace(':', '-')}"
        out.append({"name": name, "kind": "mltc", "run_dir": run, "pred": work / f"pred-{run.name}.jsonl",
                    "command": mltc_cmd + ["train"] + data + ["--out", str(run)] + extra})
    scripts = {"svm": ["peer_svm.py"], "lml-thresholding": ["peer_libmultilabel.py", "--method", "thresholding"],
               "lml-1vsrest": ["peer_libmultilabel.py", "--method", "1vsrest"]}
    for name in peers:
        pred, info = work / f"pred-{name}.jsonl", work / f"info-{name}.json"
        script, *opts = scripts[name]
        out.append({"name": name, "kind": "peer", "pred": pred, "info": info,
                    "command": [python, str(HERE / script), *opts] + data + ["--out", str(pred), "--info", str(info)]})
    return out


def run_measured(command: list[str], log: Path, timeout: float, python: str, env: dict) -> dict:
    """Run ``command`` under ``measure.py``; kill its process group after ``timeout`` seconds."""
    report = log.with_suffix(".measure.json")
    report.unlink(missing_ok=True)  # a round before this one left its report here
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen([python, str(HERE / "measure.py"), "--report", str(report), "--", *command],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this harness started for the command
            proc.wait()
            timed_out = True
    result = {"load_avg_1min_before": round(load_before[0], 2), "load_avg_1min_after": round(os.getloadavg()[0], 2)}
    if timed_out:
        return {**result, "status": "timed out", "wall_seconds": round(time.perf_counter() - t0, 1), "peak_rss_mb": None}
    m = json.loads(report.read_text()) if report.exists() else {"returncode": proc.returncode}
    result.update(m)
    if m.get("returncode") != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        return {**result, "status": f"failed (exit {m.get('returncode')})", "log_tail": tail}
    return {**result, "status": "ok"}


def clear_outputs(contender: dict) -> None:
    """Remove what a contender's command wrote (run folder, predictions, info), so a repeat writes it afresh."""
    if contender.get("run_dir") is not None:
        shutil.rmtree(contender["run_dir"], ignore_errors=True)
    for key in ("pred", "info"):
        if contender.get(key) is not None:
            contender[key].unlink(missing_ok=True)


def median_run(runs: list[dict]) -> dict:
    """One row's measurement from its runs: the run of median wall time (all ok), with every run's wall time
    in ``wall_seconds_runs`` when there were several; the last run when one failed. (The predictions scored
    are the last run's: the commands are deterministic up to the order of LIBLINEAR's dual coordinates
    when mltc fits labels on two threads, which has not changed a metric between runs here.)"""
    if len(runs) == 1 or any(r["status"] != "ok" for r in runs):
        return dict(runs[-1])
    ordered = sorted(runs, key=lambda r: r["wall_seconds"])
    return {**ordered[(len(ordered) - 1) // 2], "wall_seconds_runs": [r["wall_seconds"] for r in runs]}


def mltc_predictions(run_dir: Path, texts: list[str], out: Path, top: int = 20, chunk: int = 2000) -> dict:
    """Write mltc's test predictions (its fitted decision) and top scores in the peers' format."""
    import mltc
    clf = mltc.load(run_dir)
    names = np.asarray(clf.labels, dtype=object)
    top = min(top, len(names))
    with open(out, "w", encoding="utf-8") as f:
        for start in range(0, len(texts), chunk):
            scores = clf.scores(texts[start:start + chunk])
            pred = clf.decide(scores)
            for s, p in zip(scores, pred):
                best = np.argsort(-s, kind="stable")[:top]
                idx = np.flatnonzero(p)
                idx = idx[np.argsort(-s[idx], kind="stable")]
                f.write(json.dumps({"labels": names[idx].tolist(), "top": [[names[j], float(s[j])] for j in best]},
                                   ensure_ascii=False) + "\n")
    decision = clf.decision.to_dict()
    info = {"model": clf.model_name, "num_labels": len(names), "config": clf.config,
            "decision": {k: v for k, v in decision.items() if k not in ("thresholds", "curve", "grid", "global_grid")}}
    if "thresholds" in decision:
        info["decision"]["num_thresholds"] = len(decision["thresholds"])
    ev = run_dir / "evaluation.json"
    if ev.exists():  # what mltc itself printed, for a cross-check only
        rep = json.loads(ev.read_text())
        info["mltc_own_test_total"] = {k: rep["total"][k] for k in ("micro_f1", "macro_f1")}
        info["mltc_own_unseen_labels"] = rep.get("unseen_labels")
    return info


# -------------------------------------------------------------------------- scoring
def score(pred_path: Path, gold: list[list[str]], train_freq: Counter, chunk: int = 2000) -> dict:
    """Every metric with ``mltc.metrics``, over all test texts (see the module docstring)."""
    from mltc.data.labels import label_groups
    from mltc.metrics import micro_macro, precision_at_k
    preds = [json.loads(l) for l in open(pred_path, encoding="utf-8") if l.strip()]
    if len(preds) != len(gold):
        raise ValueError(f"{pred_path}: {len(preds)} predictions for {len(gold)} test texts")
    extra = {l for ls in gold for l in ls} | {l for p in preds for l in p["labels"]}
    columns = sorted(train_freq) + sorted(extra - set(train_freq))
    index = {l: j for j, l in enumerate(columns)}
    n, L = len(gold), len(columns)
    Y_true = np.zeros((n, L), bool)
    Y_pred = np.zeros((n, L), bool)
    for i, (g, p) in enumerate(zip(gold, preds)):
        Y_true[i, [index[l] for l in g]] = True
        Y_pred[i, [index[l] for l in p["labels"]]] = True
    class_freq = np.array([train_freq.get(l, 0) for l in columns])
    out = {"total": micro_macro(Y_true, Y_pred)}
    out["groups"] = {g: dict(micro_macro(Y_true, Y_pred, idx), num_labels=int(len(idx)))
                     for g, idx in label_groups(class_freq, HEAD, TAIL).items()}
    # P@k over ALL test texts: mltc's precision_at_k averages over texts with a gold label,
    # so rescale by their share (a text without gold labels scores 0).
    hits = {k: 0.0 for k in KS}
    for start in range(0, n, chunk):
        rows = slice(start, min(n, start + chunk))
        S = np.full((rows.stop - start, L), -np.inf)
        for i, p in enumerate(preds[rows]):
            for label, s in p["top"]:
                S[i, index[label]] = s
        with_gold = int(Y_true[rows].any(1).sum())
        for k in KS:
            hits[k] += precision_at_k(Y_true[rows], S, k) * with_gold
    out["ranking"] = {f"P@{k}": 100 * hits[k] / n for k in KS}
    out["labels_per_text"] = float(Y_pred.sum() / n)
    out["texts_without_prediction"] = int((~Y_pred.any(1)).sum())
    out["labels_never_predicted"] = int((~Y_pred[:, : len(train_freq)].any(0)).sum())
    return out


def gold_stats(gold: list[list[str]], train_freq: Counter) -> dict:
    unseen = [l for ls in gold for l in ls if l not in train_freq]
    in_test = {l for ls in gold for l in ls}
    freq = np.array(list(train_freq.values()))
    return {"test_texts": len(gold), "gold_labels_per_text": sum(map(len, gold)) / len(gold),
            "test_texts_without_gold": sum(1 for g in gold if not g),
            "train_labels": len(train_freq), "unseen_gold_occurrences": len(unseen),
            "unseen_gold_labels": len(set(unseen)),
            "label_groups_by_train_freq": {"head": int((freq >= HEAD).sum()),
                                           "medium": int(((freq > TAIL) & (freq < HEAD)).sum()),
                                           "tail": int((freq <= TAIL).sum())},
            "labels_with_test_support_by_group": {g: sum(1 for l in in_test if lo <= train_freq.get(l, 0) <= hi)
                                                  for g, (lo, hi) in GROUP_RANGES.items()}}


# -------------------------------------------------------------------------- reports
def fmt(x, spec=".2f", none="-"):
    return none if x is None else format(x, spec)


def table(result: dict) -> str:
    """The per-data-set table (Markdown)."""
    rows = result["contenders"]
    svm = next((r for r in rows if r["name"] == "svm" and r["status"] == "ok"), None)
    g = result["gold"]
    lines = [f"### {result['dataset']}",
             "",
             f"{result['split_sizes']['train']} train / {result['split_sizes']['validation']} validation / "
             f"{g['test_texts']} test texts; {g['train_labels']} labels in training "
             f"(head {g['label_groups_by_train_freq']['head']}, medium {g['label_groups_by_train_freq']['medium']}, "
             f"tail {g['label_groups_by_train_freq']['tail']}; with test support: "
             + ", ".join(f"{k} {v}" for k, v in g["labels_with_test_support_by_group"].items())
             + f"); gold labels per test text {g['gold_labels_per_text']:.2f}; "
             f"{g['unseen_gold_occurrences']} gold test label occurrences unseen in training "
             f"({g['unseen_gold_labels']} labels), counted as misses; "
             f"{g['test_texts_without_gold']} test texts without gold labels.",
             "",
             "| contender | micro-F1 | macro-F1 | tail macro-F1 | P@1 | labels/text | train s | × SVM time | CPU s | peak RSS MB "
             "| status |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        m = r.get("metrics") or {}
        t = r.get("wall_seconds")
        ratio = t / svm["wall_seconds"] if (svm and t and r["status"] == "ok") else None
        cpu = r["user_seconds"] + r["system_seconds"] if r.get("user_seconds") is not None else None
        lines.append(f"| {r['name']} | {fmt(m.get('total', {}).get('micro_f1'))} | {fmt(m.get('total', {}).get('macro_f1'))} | "
                     f"{fmt(m.get('groups', {}).get('tail', {}).get('macro_f1'))} | {fmt(m.get('ranking', {}).get('P@1'))} | "
                     f"{fmt(m.get('labels_per_text'))} | {fmt(t, '.1f')} | {fmt(ratio, '.2f')} | {fmt(cpu, '.1f')} | "
                     f"{fmt(r.get('peak_rss_mb'), '.0f')} | {r['status']}"
                     + (f" (row kept from the run started {r['kept_from_run']})" if r.get("kept_from_run") else "")
                     + (f" (median of {len(r['wall_seconds_runs'])} runs: "
                        + ", ".join(f"{w:.1f}" for w in r["wall_seconds_runs"]) + " s)" if r.get("wall_seconds_runs") else "")
                     + " |")
    lines.append(f"| (gold) | | | | | {g['gold_labels_per_text']:.2f} | | | | | |")
    for d in result.get("deltas", []):
        lines.append("")
        lines.append(f"{d['mltc']} − best peer: micro-F1 {d['micro_f1_delta']:+.2f} (vs {d['best_micro_peer']}), "
                     f"macro-F1 {d['macro_f1_delta']:+.2f} (vs {d['best_macro_peer']}); "
                     f"time {fmt(d['time_vs_best_micro_peer'], '.2f')}× the best-micro peer's.")
    return "\n".join(lines)


def deltas(rows: list[dict]) -> list[dict]:
    ok = [r for r in rows if r["status"] == "ok" and r.get("metrics")]
    peers = [r for r in ok if r["kind"] == "peer"]
    if not peers:
        return []
    bmi = max(peers, key=lambda r: r["metrics"]["total"]["micro_f1"])
    bma = max(peers, key=lambda r: r["metrics"]["total"]["macro_f1"])
    return [{"mltc": r["name"], "best_micro_peer": bmi["name"], "best_macro_peer": bma["name"],
             "micro_f1_delta": r["metrics"]["total"]["micro_f1"] - bmi["metrics"]["total"]["micro_f1"],
             "macro_f1_delta": r["metrics"]["total"]["macro_f1"] - bma["metrics"]["total"]["macro_f1"],
             "time_vs_best_micro_peer": r["wall_seconds"] / bmi["wall_seconds"]}
            for r in ok if r["kind"] == "mltc"]


SUMMARY_HEAD = """# mltc and its peers, same run, same files

Written by `benchmarks/peers.py` (see `benchmarks/PEERS.md`); one section per results file in this folder.

* Every contender reads the same JSON Lines splits; all metrics are computed by the harness with `mltc.metrics`
  from each contender's test predictions, over ALL test texts, in percent.
* Label columns: the labels seen in training plus every gold test label unseen in training (a contender cannot
  predict those; their occurrences count as misses). Macro-F1 averages these columns, a column with no test
  support and no prediction scoring 0 (mltc's convention, `zero_division=0`).
* Tail macro-F1: macro-F1 over labels with training frequency ≤ 8 (head ≥ 35, medium 9–34).
* P@1: the best-scored label is gold, averaged over ALL test texts (a text without gold labels counts 0).
* labels/text: predicted labels per test text (gold mean in the `(gold)` row).
* train s: wall clock of the whole command (interpreter start, imports, fitting, tuning, test predictions, and
  for mltc its own test evaluation and model saving); × SVM time: that over the `svm` command's.
  CPU s: the command's user + system CPU seconds (less sensitive to other load than wall clock).
  Peak RSS: the command's own peak resident memory (`os.wait4`).
* A label with no test occurrence scores F1 0 in every contender (see "with test support" per group).
* Timings depend on the machine's load while the run lasted: the JSON files record the 1-minute load average
  before and after each command and the CPU count.
"""


def write_summary(folder: Path) -> Path:
    parts = [SUMMARY_HEAD]
    for path in sorted(folder.glob("*.json")):
        result = json.loads(path.read_text())
        if "contenders" in result:
            env = result["environment"]
            src = env.get("mltc_source", {})
            parts.append(table(result) + f"\n\n_Run {result['finished']} on {env['cpus']} CPUs; "
                         f"mltc {env['versions'].get('mltc')}, scikit-learn {env['versions'].get('scikit-learn')}, "
                         f"libmultilabel {env['versions'].get('libmultilabel')}; mltc default: "
                         f"{result.get('mltc_default_model', '?')}; mltc source {src.get('commit', '?')}"
                         f" + {src.get('uncommitted_files', '?')} uncommitted file(s)._\n")
    out = folder / "summary.md"
    out.write_text("\n\n".join(parts))
    return out


def mltc_source() -> dict:
    """Where the mltc being measured lives, its git commit and how many of its files differ from it."""
    import mltc
    src = Path(mltc.__file__).resolve().parent
    out = {"path": str(src)}
    try:
        git = ["git", "-C", str(src)]
        out["commit"] = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                       check=True).stdout.strip()
        changed = subprocess.run(git + ["status", "--porcelain", "--", "."], capture_output=True, text=True,
                                 check=True).stdout.splitlines()
        out["uncommitted_files"] = len(changed)
    except (OSError, subprocess.CalledProcessError):
        pass
    return out


def versions() -> dict:
    out = {}
    for pkg in ("mltc", "torch", "numpy", "scipy", "scikit-learn", "libmultilabel", "liblinear-multicore"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


# ----------------------------------------------------------------------------- main
def parse_config(text: str) -> tuple[str, list[str]]:
    name, sep, flags = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--mltc-config wants NAME=FLAGS, got {text!r}")
    return name.strip(), shlex.split(flags)


def child_env(args) -> dict:
    """The contenders' environment: this one, with OMP_WAIT_POLICY set as asked (the same for all)."""
    env = dict(os.environ)
    if args.omp_wait_policy != "inherit":
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    return env


def keep_rows(result: dict, previous_file: Path) -> None:
    """Add the rows of ``previous_file`` that this run did not make (``--only ... --keep-rows``), each marked
    ``kept_from_run`` with the start time of the run that measured it, and recompute the deltas."""
    if not previous_file.exists():
        return
    previous = json.loads(previous_file.read_text())
    ran = {r["name"] for r in result["contenders"]}
    for row in previous.get("contenders", []):
        if row["name"] not in ran:
            result["contenders"].append({**row, "kept_from_run": row.get("kept_from_run") or previous.get("started")})
    result["deltas"] = deltas(result["contenders"])


def default_mltc_command(python: str) -> list[str]:
    exe = Path(python).parent / "mltc"
    return [str(exe)] if exe.exists() else [python, "-m", "mltc.cli.main"]


def run_dataset(name: str, args, mltc_cmd: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"peers-{name.split('=')[0].replace(':', '-')}-", dir=args.tmp_dir) as tmp:
        work = Path(tmp)
        result_name, paths, source = prepare_splits(name, work, args.synthetic_scale)
        texts = {s: read_jsonl(p) for s, p in paths.items()}
        train_freq = Counter(l for ls in texts["train"][1] for l in set(ls))
        gold = texts["test"][1]
        result = {"dataset": result_name, "source": source,
                  "split_sizes": {s: len(t[0]) for s, t in texts.items()}, "gold": gold_stats(gold, train_freq),
                  "environment": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                                  "versions": versions(), "timeout_seconds": args.timeout,
                                  "OMP_WAIT_POLICY": child_env(args).get("OMP_WAIT_POLICY"),
                                  "mltc_source": mltc_source()},
                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "contenders": []}
        print(f"== {result_name}: {result['split_sizes']} ({work})", flush=True)
        contenders = [c for c in contender_commands(paths, work, mltc_cmd, args.mltc_config, args.peers, args.python)
                      if not args.only or c["name"] in args.only]
        runs: dict[str, list[dict]] = {c["name"]: [] for c in contenders}
        # rounds over the contenders, so that repeated rows see the same load in turn
        for rnd in range(args.repeat):
            for c in contenders:
                done = runs[c["name"]]
                if rnd and (c["name"] in args.once or done[-1]["status"] != "ok"):
                    continue
                if rnd:
                    clear_outputs(c)
                print(f"-- {c['name']}{f' (round {rnd + 1})' if rnd else ''}: {shlex.join(c['command'])}", flush=True)
                log = work / f"log-{c['name'].replace(':', '-')}.txt"
                done.append(run_measured(c["command"], log, args.timeout, args.python, child_env(args)))
                print(f"   {done[-1]['status']}, {fmt(done[-1].get('wall_seconds'), '.1f')} s, "
                      f"{fmt(done[-1].get('peak_rss_mb'), '.0f')} MB", flush=True)
        for c in contenders:
            row = {"name": c["name"], "kind": c["kind"],
                   "command": shlex.join(c["command"]).replace(str(work), "$TMP")}
            row.update(median_run(runs[c["name"]]))
            if row["status"] == "ok":
                try:
                    if c["kind"] == "mltc":
                        row["mltc"] = mltc_predictions(c["run_dir"], texts["test"][0], c["pred"])
                    elif c["info"].exists():
                        row["peer"] = json.loads(c["info"].read_text())
                    row["metrics"] = score(c["pred"], gold, train_freq)
                except Exception as exc:  # a broken prediction file is a result, not a crash of the run
                    row["status"] = f"scoring failed: {type(exc).__name__}: {exc}"
            result["contenders"].append(row)
        default = next((r for r in result["contenders"] if r["name"] == "mltc" and "mltc" in r), None)
        if default:
            cfg = default["mltc"]["config"]
            result["mltc_default_model"] = (f"{cfg.get('model')} / loss {cfg.get('loss')} / "
                                            f"decision {default['mltc']['decision'].get('kind')}")
        result["deltas"] = deltas(result["contenders"])
        result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        after = mltc_source()
        if after != result["environment"]["mltc_source"]:  # mltc's source changed while this data set ran
            result["environment"]["mltc_source_at_end"] = after
        if args.keep_tmp:
            shutil.copytree(work, Path(args.keep_tmp) / result_name, dirs_exist_ok=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("datasets", nargs="*", default=DEFAULT_DATASETS,
                   help=f"Named data sets and/or 'synthetic' (default: {' '.join(DEFAULT_DATASETS)}).")
    p.add_argument("--mltc-config", action="append", type=parse_config, default=[], metavar="NAME=FLAGS",
                   help="An extra mltc row: flags added to 'mltc train' (repeatable), e.g. \"mlp=--model tfidf-mlp\".")
    p.add_argument("--peers", nargs="*", default=PEERS, choices=PEERS, help="Peer rows to run (default: all).")
    p.add_argument("--only", nargs="*", help="Run only these rows (names as printed, e.g. mltc svm).")
    p.add_argument("--keep-rows", action="store_true",
                   help="With --only: keep the other rows of the data set's existing results file, each marked with "
                        "the run it comes from (their times were measured in that run, not this one).")
    p.add_argument("--repeat", type=int, default=1,
                   help="Run each command this many times, in rounds over the contenders, and report the run of "
                        "median wall time (the lower middle one for an even N; the machine's load moves single "
                        "timings by +-25%%); rows in --once run once.")
    p.add_argument("--once", nargs="*", default=["lml-thresholding"],
                   help="Rows run once whatever --repeat says (default: lml-thresholding, minutes per run).")
    p.add_argument("--timeout", type=float, default=1800, help="Seconds per command before it is recorded as timed out.")
    p.add_argument("--synthetic-scale", choices=["full", "small", "phrases", "dense"], default="full",
                   help="synthetic: full (100k texts, 10k labels), small (10k texts, 1k labels), phrases (5k "
                        "short CJK phrases, 3.2k labels) or dense (8k texts, 1.5k labels, 6 per text); a data set "
                        "named synthetic-SCALE takes its own scale.")
    p.add_argument("--omp-wait-policy", default="PASSIVE", choices=["PASSIVE", "ACTIVE", "inherit"],
                   help="OMP_WAIT_POLICY for every command. PASSIVE (default): OpenMP threads sleep instead of "
                        "spinning, which keeps LIBLINEAR's and torch's threads from stalling on a shared, "
                        "oversubscribed machine; 'inherit' leaves the environment as it is.")
    p.add_argument("--python", default=sys.executable, help="Interpreter for the peers (default: this one).")
    p.add_argument("--mltc", help="mltc command (default: the 'mltc' next to --python, else python -m mltc.cli.main).")
    p.add_argument("--results", default=str(HERE / "results" / "peers"), help="Folder for <dataset>.json and summary.md.")
    p.add_argument("--tmp-dir", help="Where the temporary split/run folders go (default: the system's).")
    p.add_argument("--keep-tmp", help="Copy each data set's temporary folder (splits, logs, predictions) here.")
    args = p.parse_args()
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    mltc_cmd = shlex.split(args.mltc) if args.mltc else default_mltc_command(args.python)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    for name in args.datasets:
        result = run_dataset(name, args, mltc_cmd)
        if args.keep_rows:
            keep_rows(result, results / f"{result['dataset']}.json")
        (results / f"{result['dataset']}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print("\n" + table(result) + "\n", flush=True)
    print(f"summary: {write_summary(results)}")


if __name__ == "__main__":
    main()
