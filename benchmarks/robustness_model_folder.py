"""Robustness tally: damaged model folders meet one clear error, never a traceback (issue 11).

Trains two tiny models (tfidf-linear and embedding-bag on the toy texts of the tests), then
N times: copies one, applies the fuzz test's JSON mutations (``tests/model_mutations.py``:
key deletion, type changes, NaN, huge numbers, nested junk, null), loads it with
``mltc.load`` and predicts. Each case is counted as

- ``clean error``: one ``ModelFormatError`` naming a file of the folder;
- ``loaded``: the model loaded and predicted without an exception;
- ``traceback``: any other exception (a bug);
- ``escape``: something was created outside the model's copy (a path followed out);
- ``hang``: loading and predicting took longer than ``--case-timeout`` seconds (interrupted
  with SIGALRM where the work is interruptible Python code).

    python benchmarks/robustness_model_folder.py --cases 1000
    python benchmarks/robustness_model_folder.py --compare-src /path/to/older/src   # adds a "before" row

Writes ``benchmarks/results/robustness_model_folder.{md,json}``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "tests"))

from conftest import TOY_TRAIN, TOY_VAL  # noqa: E402
from model_mutations import mutate_folder  # noqa: E402

TEXTS = ["wheat grain exports", "", "crude oil ship", "x" * 3000]
MODELS = {"tfidf-linear": {}, "embedding-bag": {"network_options": {"dim": 8}, "epochs": 2}}


def build_models(root: Path) -> dict[str, Path]:
    from mltc.data import make_examples
    from mltc.training import TrainConfig, train
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    out = {}
    for name, extra in MODELS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = train(tr, va, TrainConfig(model=name, loss="bce", seed=1, **extra))
        clf.save(root / name)
        out[name] = root / name
    return out


class CaseTimeout(BaseException):
    """Raised by the alarm: the case ran past its time limit."""


def _alarm(signum, frame):
    raise CaseTimeout()


def classify(folder: Path, error_class, timeout: int) -> tuple[str, str]:
    """(outcome, detail) for loading and predicting one mutated folder."""
    import mltc
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        clf = mltc.load(folder)
        clf.predict(TEXTS)
        clf.predict(TEXTS, return_scores="all")
    except CaseTimeout:
        return "hang", f"over {timeout} s"
    except Exception as exc:  # noqa: BLE001 - the tally's point
        if error_class is not None and isinstance(exc, error_class):
            return "clean error", ""
        return "traceback", f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
    finally:
        signal.alarm(0)
    return "loaded", ""


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def tally(cases: int, seed: int, timeout: int) -> dict:
    try:
        from mltc.modelcheck import ModelFormatError as error_class
    except ImportError:  # an older mltc: every exception is a traceback
        error_class = None
    rng = random.Random(seed)
    counts: Counter = Counter()
    examples: dict[str, list[str]] = {}
    slowest = 0.0
    watch = [Path("/tmp/elsewhere")]
    with tempfile.TemporaryDirectory(prefix="mltc-robust-") as tmp:
        tmp = Path(tmp)
        os.environ["MLTC_CACHE_DIR"] = str(tmp / "user-cache")
        models = build_models(tmp / "models")
        before_watch = {p: p.exists() for p in watch}
        for i in range(cases):
            name = list(models)[i % len(models)]
            case_dir = tmp / "cases" / f"c{i}"
            folder = Path(shutil.copytree(models[name], case_dir / "model"))
            what = mutate_folder(folder, lambda n: rng.randrange(max(1, n)))
            before = listing(case_dir)
            started = time.perf_counter()
            outcome, detail = classify(folder, error_class, timeout)
            slowest = max(slowest, time.perf_counter() - started)
            created = listing(case_dir) - before
            escaped = [c for c in created if not c.startswith("model")] + \
                      [str(p) for p in watch if p.exists() and not before_watch[p]]
            if escaped:
                counts["escape"] += 1
                examples.setdefault("escape", []).append(f"{name} {what}: {escaped[:2]}")
            counts[outcome] += 1
            if outcome in ("traceback", "hang") and len(examples.setdefault(outcome, [])) < 8:
                examples[outcome].append(f"{name} {what}: {detail}")
            shutil.rmtree(case_dir, ignore_errors=True)
    return {"cases": cases, "seed": seed, "clean_error": counts["clean error"], "loaded": counts["loaded"],
            "traceback": counts["traceback"], "hang": counts["hang"], "escape": counts["escape"],
            "case_timeout_s": timeout, "slowest_case_s": round(slowest, 3),
            "examples": examples}


def row(label: str, r: dict) -> str:
    return (f"| {label} | {r['cases']} | {r['clean_error']} | {r['loaded']} | {r['traceback']} | {r['hang']} | "
            f"{r['escape']} | {r['slowest_case_s']:.2f} |")


def markdown(now: dict, before: dict | None, before_label: str = "before") -> str:
    lines = ["# Robustness: damaged model folders", "",
             "Generated by `benchmarks/robustness_model_folder.py` (the mutations of "
             "`tests/test_model_folder.py`'s fuzz test, fixed seed). Each case mutates one JSON file of a tiny "
             "saved model (tfidf-linear or embedding-bag) once or twice: a key deleted, a type changed, NaN, a huge "
             "number, nested junk or null; then `mltc.load` and `predict`.", "",
             "| code | cases tried | clean error | loaded and predicted | tracebacks | hangs | escapes | slowest case (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    if before is not None:
        lines.append(row(before_label, before))
    lines.append(row("this branch", now))
    lines += ["", "A *clean error* is one `ModelFormatError` whose message names the file; a *traceback* is any "
              f"other exception; a *hang* is a case stopped after {now['case_timeout_s']} s; an *escape* is a file "
              "or folder created outside the model's copy.", "",
              f"Machine: {platform.platform()}, Python {platform.python_version()}."]
    for label, res in (("before", before), ("this branch", now)):
        for outcome in ("traceback", "hang", "escape"):
            if res and res["examples"].get(outcome):
                lines += ["", f"Examples of {outcome}s ({label}):", ""]
                lines += [f"- `{e[:300]}`" for e in res["examples"][outcome][:8]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--case-timeout", type=int, default=20, help="Seconds before a case counts as a hang.")
    ap.add_argument("--json", type=Path, default=ROOT / "results" / "robustness_model_folder.json")
    ap.add_argument("--md", type=Path, default=ROOT / "results" / "robustness_model_folder.md")
    ap.add_argument("--compare-src", help="Also tally an older mltc (its src folder) for a 'before' row.")
    ap.add_argument("--compare-label", default="before (no model checks)", help="Name of the 'before' row.")
    args = ap.parse_args()
    before = None
    if args.compare_src:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "before.json"
            env = dict(os.environ, PYTHONPATH=args.compare_src)
            subprocess.run([sys.executable, __file__, "--cases", str(args.cases), "--seed", str(args.seed),
                            "--case-timeout", str(args.case_timeout),
                            "--json", str(out), "--md", str(Path(tmp) / "before.md")], env=env, check=True)
            before = json.loads(out.read_text())["now"]
    now = tally(args.cases, args.seed, args.case_timeout)
    print(f"cases tried {now['cases']} / clean error {now['clean_error']} / loaded {now['loaded']} / "
          f"tracebacks {now['traceback']} / hangs {now['hang']} / escapes {now['escape']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"now": now, "before": before}, indent=2) + "\n")
    args.md.write_text(markdown(now, before, args.compare_label))


if __name__ == "__main__":
    main()
