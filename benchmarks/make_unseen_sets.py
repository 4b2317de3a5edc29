"""Write two data sets nobody tuned mltc's default on, in other formats, for ``peers.py files:...``.

- ``cail2019-all``: the three CAIL2019 domains merged (Chinese, 60 labels, ``domain:tag``),
  as CSV with ``|`` between labels;
- ``reuters-places``: the ModApte documents labelled with their PLACES field only (countries,
  a geographic long tail), as fastText lines;
- ``reuters-people-orgs``: the ModApte documents with a PEOPLE, ORGS or EXCHANGES label, labelled
  with those fields only (about 800 training texts, 119 labels, most seen a few times), as TSV
  with ``|`` between labels;
- ``reuters-titles``: the ModApte documents cut to their first line (the headline, about 7 words),
  labelled with all five category fields (about 360 labels): short texts with many long-tailed
  labels, as in tagging questions or titles, as JSON Lines.

    python benchmarks/make_unseen_sets.py OUT_DIR
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from mltc.data import load_dataset
from mltc.data.registry import data_dir
from mltc.data.reuters import load_reuters_all


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    parts = {s: [] for s in ("train", "validation", "test")}
    for dom in ("divorce", "labor", "loan"):
        d = load_dataset(f"cail2019-{dom}")
        for s in parts:
            parts[s] += [(e.text, [f"{dom}:{l}" for l in e.labels]) for e in getattr(d, s)]
    for s, rows in parts.items():
        with open(out / f"cail2019-all.{s}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["text", "labels"])
            w.writerows((t, "|".join(ls)) for t, ls in rows)
    d = load_reuters_all(data_dir())
    for s in parts:
        with open(out / f"reuters-places.{s}.txt", "w", encoding="utf-8") as fh:
            for e in getattr(d, s):
                places = [l.split(":", 1)[1].replace(" ", "-") for l in e.labels if l.startswith("places:")]
                if places:
                    fh.write(" ".join(f"__label__{p}" for p in places) + " " + " ".join(e.text.split()) + "\n")
        with open(out / f"reuters-people-orgs.{s}.tsv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter="\t")
            w.writerow(["text", "labels"])
            for e in getattr(d, s):
                tags = [l for l in e.labels if l.split(":", 1)[0] in ("people", "orgs", "exchanges")]
                if tags:
                    w.writerow([" ".join(e.text.split()), "|".join(tags)])
        with open(out / f"reuters-titles.{s}.jsonl", "w", encoding="utf-8") as fh:
            for e in getattr(d, s):
                title = " ".join(e.text.split("\n", 1)[0].split()[:30])  # a document without a title: its first words
                fh.write(json.dumps({"text": title, "labels": list(e.labels)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
