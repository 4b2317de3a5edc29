"""Bad data files and bad command lines through the CLI: how does each one end?

Every case runs ``python -m mltc.cli.main ...`` in a subprocess (loopback only, nothing
fetched) and is classified as

* ``clean error``: exit 2, a message on stderr naming the file and line or the option,
  no ``Traceback``; ``unclear error``: exit 2 with a message that names neither;
* ``traceback``: a Python traceback, or an exit code other than 0 and 2;
* ``hang``: still running after the timeout (killed);
* ``wrong success``: exit 0 on input that should have been refused, or a run whose
  result is wrong (checked per case);
* ``correct success``: exit 0 where the input is legitimate and the result is right
  (a BOM, tabs in fastText lines); ``wrong refusal``: such input refused.

Usage::

    python benchmarks/robustness_inputs.py                 # this tree's src/
    python benchmarks/robustness_inputs.py --src OLD/src   # another tree, for a before/after column

It prints the tally and writes ``benchmarks/results/robustness_inputs.md`` (one column per
``--src``). A few minutes on two cores: one small training run, then ~30 short commands.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import TOY_TRAIN, TOY_VAL  # noqa: E402

TIMEOUT_S = 30
OUTCOMES = ("clean error", "unclear error", "traceback", "hang", "wrong success", "correct success", "wrong refusal")


def jsonl(rows) -> str:
    return "".join(json.dumps({"text": t, "labels": l}, ensure_ascii=False) + "\n" for t, l in rows)


def model_labels(work: Path, out: str = "run") -> list[str]:
    path = work / out / "model" / "labels.json"
    return json.loads(path.read_text())["labels"] if path.exists() else []


@dataclass
class Case:
    """One input: files to write, the CLI arguments, and (for legitimate input) a result check."""

    name: str
    args: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    stdin: str | None = None
    ok: Callable[[Path, str], bool] | None = None  # legitimate input: is the result right?
    expect: str | None = None  # a refusal's message must contain this (the file:line or the option)


TRAIN = ["train", "--validation", "val.jsonl", "--out", "run"]
TRAIN_CSV = ["train", "--validation", "val.csv", "--out", "run"]
BASE_TRAIN = TRAIN + ["--train", "train.jsonl"]
PREDICT = ["predict", "model/model", "-"]

CASES = [
    # ---------------------------------------------------------------- data files
    Case("JSONL label \"\"", TRAIN + ["--train", "t.jsonl"], {"t.jsonl": jsonl(TOY_TRAIN + [("x", [""])])},
         expect='t.jsonl:12'),
    Case("JSONL label U+3000", TRAIN + ["--train", "t.jsonl"], {"t.jsonl": jsonl(TOY_TRAIN + [("x", ["\u3000"])])},
         expect='t.jsonl:12'),
    Case("JSONL label true", TRAIN + ["--train", "t.jsonl"],
         {"t.jsonl": jsonl(TOY_TRAIN) + '{"text": "x", "labels": [true]}\n'}, expect='t.jsonl:12'),
    Case("JSONL nested 1,500 levels", TRAIN + ["--train", "t.jsonl"],
         {"t.jsonl": jsonl(TOY_TRAIN) + '{"text": "x", "labels": ' + "[" * 1500 + "]" * 1500 + "}\n"},
         expect='t.jsonl:12'),
    Case("fastText __label__ + U+3000", TRAIN + ["--train", "t.txt"],
         {"t.txt": "__label__a first\n__label__\u3000 second\n"}, expect='t.txt:2'),
    Case("fastText BOM (legitimate)", TRAIN + ["--train", "t.txt"],
         {"t.txt": "\ufeff__label__grain wheat\n__label__crude oil\n__label__earn profit\n"},
         ok=lambda w, _: set(model_labels(w)) == {"grain", "crude", "earn"}),
    Case("fastText label<TAB>text (legitimate)", TRAIN + ["--train", "t.txt"],
         {"t.txt": "__label__grain\twheat\n__label__crude\toil\n__label__earn\tprofit\n"},
         ok=lambda w, _: set(model_labels(w)) == {"grain", "crude", "earn"}),
    Case("CSV cell \"a, ,b\"", TRAIN_CSV + ["--train", "t.csv"], {"t.csv": 'text,labels\nwheat,"grain, ,wheat"\n'},
         expect='t.csv:2'),
    Case("CSV pandas list cell", TRAIN_CSV + ["--train", "t.csv"],
         {"t.csv": "text,labels\nwheat,\"['grain', 'wheat']\"\n"},
         expect='t.csv:2'),
    Case("CSV wrong field count", TRAIN_CSV + ["--train", "t.csv"], {"t.csv": "text,labels\nwheat,grain,extra\n"},
         expect='t.csv:2'),
    Case("CSV not UTF-8", TRAIN_CSV + ["--train", "t.csv"], {"t.csv": b"text,labels\ncaf\xe9,grain\n"},
         expect='t.csv:2'),
    Case("CSV train + JSONL validation (legitimate)", TRAIN + ["--train", "train.csv"],
         ok=lambda w, _: set(model_labels(w)) == {l for _, ls in TOY_TRAIN for l in ls}),
    Case("empty training file", TRAIN + ["--train", "t.jsonl"], {"t.jsonl": ""}, expect='t.jsonl'),
    Case("header-only training CSV", TRAIN_CSV + ["--train", "t.csv"], {"t.csv": "text,labels\n"}, expect='t.csv'),
    Case("empty test file (evaluate)", ["evaluate", "model/model", "--test", "t.jsonl"], {"t.jsonl": ""},
         expect='t.jsonl'),
    # ------------------------------------------------------------- command lines
    Case("train --epochs 0", BASE_TRAIN + ["--epochs", "0"], expect='--epochs'),
    Case("train --batch-size 0", BASE_TRAIN + ["--batch-size", "0"], expect='--batch-size'),
    Case("train --lr nan", BASE_TRAIN + ["--lr", "nan"], expect='--lr'),
    Case("train --min-labels -2", BASE_TRAIN + ["--min-labels", "-2"], expect='--min-labels'),
    Case("train --threshold-grid -5,7", BASE_TRAIN + ["--threshold-grid", "-5,7"], expect='--threshold-grid'),
    Case("train --warmup-ratio 2", BASE_TRAIN + ["--warmup-ratio", "2"], expect='--warmup-ratio'),
    Case("config epochs: \"abc\"", BASE_TRAIN + ["--config", "c.yaml"], {"c.yaml": 'epochs: "abc"\n'}, expect='epochs'),
    Case("config lr: fast", BASE_TRAIN + ["--config", "c.yaml"], {"c.yaml": "lr: fast\n"}, expect='lr'),
    Case("predict --batch-size 0", PREDICT + ["--batch-size", "0"], stdin="wheat\n", expect='--batch-size'),
    Case("predict --batch-size -1", PREDICT + ["--batch-size", "-1"], stdin="wheat\n", expect='--batch-size'),
    Case("predict --threshold 5 (sigmoid)", PREDICT + ["--threshold", "5"], stdin="wheat\n", expect='--threshold'),
    Case("predict --top-k 0", PREDICT + ["--top-k", "0"], stdin="wheat\n", expect='--top-k'),
    Case("predict --threshold 0.5 --top-k 2", PREDICT + ["--threshold", "0.5", "--top-k", "2"], stdin="wheat\n",
         expect='--top-k'),
    Case("evaluate --threshold -1 (sigmoid)", ["evaluate", "model/model", "--test", "val.jsonl", "--threshold", "-1"],
         expect='--threshold'),
    Case("serve --port 70000", ["serve", "model/model", "--port", "70000"], expect='--port'),
    Case("serve --max-texts 0", ["serve", "model/model", "--port", "8765", "--max-texts", "0"], expect='--max-texts'),
]


def run_cli(args: list[str], cwd: Path, src: Path, stdin: str | None) -> tuple[str, int | None, str, float]:
    """Run the CLI; returns (status, exit code or None, stderr, seconds)."""
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "mltc.cli.main", *args], cwd=cwd, env=env, input=stdin,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "hang", None, "", time.perf_counter() - t0
    return "done", proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0


def classify(case: Case, status: str, code: int | None, output: str, work: Path) -> str:
    if status == "hang":
        return "hang"
    if "Traceback" in output or code not in (0, 2):
        return "traceback"
    if code == 2:
        if case.ok is not None:
            return "wrong refusal"
        return "clean error" if case.expect is None or case.expect in output else "unclear error"
    if case.ok is not None:
        return "correct success" if case.ok(work, output) else "wrong success"
    return "wrong success"


def first_line(output: str) -> str:
    """The telling line of an output: the error message, the exception of a traceback, or the last line."""
    lines = [l for l in output.strip().splitlines() if l.strip()]
    errors = [l for l in lines if l.lower().startswith("error:")]
    tb = [l for l in lines if not l.startswith(" ") and not l.startswith("Traceback")]
    line = errors[-1] if errors else (tb[-1] if "Traceback" in output and tb else lines[-1] if lines else "")
    return line.replace("|", "\\|")[:140]


def run_all(src: Path) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="mltc-robust-") as tmp:
        base = Path(tmp)
        (base / "train.jsonl").write_text(jsonl(TOY_TRAIN), encoding="utf-8")
        (base / "val.jsonl").write_text(jsonl(TOY_VAL), encoding="utf-8")
        for name, rows in (("train.csv", TOY_TRAIN), ("val.csv", TOY_VAL)):
            body = "".join(f'{t},"{",".join(l)}"\n' for t, l in rows)
            (base / name).write_text("text,labels\n" + body, encoding="utf-8")
        status, code, out, _ = run_cli(["train", "--train", "train.jsonl", "--validation", "val.jsonl",
                                        "--out", "model"], base, src, None)
        if code != 0:
            raise SystemExit(f"could not train the reference model with {src}:\n{out[-2000:]}")
        rows = []
        for i, case in enumerate(CASES):
            work = base / f"case{i:02d}"
            work.mkdir()
            for f in ("train.jsonl", "val.jsonl", "train.csv", "val.csv"):
                (work / f).write_bytes((base / f).read_bytes())
            (work / "model").symlink_to(base / "model")
            for name, content in case.files.items():
                (work / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
            status, code, out, secs = run_cli(case.args, work, src, case.stdin)
            outcome = classify(case, status, code, out, work)
            rows.append({"case": case.name, "outcome": outcome, "exit": code, "seconds": round(secs, 2),
                         "message": first_line(out)})
            print(f"{outcome:<16} exit {code!s:<5} {case.name:<40} {first_line(out)[:80]}", flush=True)
    return rows


def tally(rows: list[dict]) -> dict[str, int]:
    return {o: sum(1 for r in rows if r["outcome"] == o) for o in OUTCOMES}


def markdown(results: dict[str, list[dict]]) -> str:
    labels = list(results)
    out = ["# Robustness to bad input files and command lines", "",
           "`python benchmarks/robustness_inputs.py` runs every case through `python -m mltc.cli.main` in a "
           "subprocess and classifies how it ends: *clean error* (exit 2, a message, no traceback), *traceback*, "
           f"*hang* (killed after {TIMEOUT_S} s), *wrong success* (exit 0 on input that must be refused, or a wrong "
           "result), *correct success* (legitimate input, right result), *wrong refusal* (legitimate input refused); "
           "an exit 2 whose message names neither the file and line nor the option is an *unclear error*.", ""]
    out += ["## Tally", "", "| outcome | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    tallies = {k: tally(v) for k, v in results.items()}
    for o in OUTCOMES:
        out.append(f"| {o} | " + " | ".join(str(tallies[k][o]) for k in labels) + " |")
    out += ["", f"{len(CASES)} cases.", "", "## Cases", ""]
    out += ["| case | " + " | ".join(labels) + " | message (" + labels[-1] + ") |",
            "|---|" + "---|" * (len(labels) + 1)]
    for i, case in enumerate(CASES):
        cells = [f"{results[k][i]['outcome']} (exit {results[k][i]['exit']})" for k in labels]
        out.append(f"| {case.name} | " + " | ".join(cells) + f" | {results[labels[-1]][i]['message']} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", action="append",
                    help="src/ folder to test as NAME=PATH or PATH (repeatable; default: this tree)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "robustness_inputs.md"))
    args = ap.parse_args()
    sources = args.src or [f"this tree={ROOT / 'src'}"]
    results: dict[str, list[dict]] = {}
    for item in sources:
        label, _, path = item.rpartition("=")
        label = label or path
        print(f"== {label}", flush=True)
        results[label] = run_all(Path(path).resolve())
        print("tally:", ", ".join(f"{o}: {n}" for o, n in tally(results[label]).items()), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(markdown(results), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
