"""A seeded, learnable, long-tailed multi-label corpus written as JSON Lines splits.

Labels ``L00000 ...`` have Zipf frequencies (label of rank ``r`` drawn with probability
proportional to ``1 / r**zipf``). Each text takes ``1 + Poisson(mean_labels - 1)`` distinct
labels. Every label owns a few topic words (drawn from a shared content vocabulary, so labels
overlap), and a text's tokens are, with probability ``signal``, topic words of one of its
labels, otherwise shared noise words (Zipf over a noise vocabulary). So a text's words predict
its labels, and rare labels have few training texts: a long tail that can be learnt.

    python benchmarks/synthetic.py --scale small --out /tmp/synth      # 10k texts, 1k labels
    python benchmarks/synthetic.py --out /tmp/synth                    # 100k texts, 10k labels
    python benchmarks/synthetic.py --scale phrases --out /tmp/synth    # 5k short phrases, 3.2k labels
    python benchmarks/synthetic.py --scale dense --out /tmp/synth      # 8k long texts, 1.5k labels, 6 per text

The ``phrases`` scale mimics a set of short Chinese phrases with thousands of labels, most
seen once or never in training: 3 to 9 "words" per text, about 1.3 labels per text, and each
word written as one or two CJK characters with no spaces between words (so mltc reads it with
character n-grams, as it would read Chinese).

The ``dense`` scale has many labels per text (about 6, as in subject indexing of laws or
medical coding, where texts carry several codes each): 8,000 texts of 80 to 250 words, 1,500
Zipf labels. Its parameters were set once, before any run on it, and not tuned afterwards.

Same arguments, same files (numpy ``default_rng(seed)``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SCALES = {
    "full": dict(num_texts=100_000, num_labels=10_000, content_vocab=30_000, noise_vocab=5_000),
    "small": dict(num_texts=10_000, num_labels=1_000, content_vocab=6_000, noise_vocab=2_000),
    "phrases": dict(num_texts=5_000, num_labels=3_200, content_vocab=4_000, noise_vocab=1_500, mean_labels=1.3,
                    words_per_label=4, signal=0.45, min_len=3, max_len=9, script="cjk"),
    "dense": dict(num_texts=8_000, num_labels=1_500, content_vocab=8_000, noise_vocab=2_000, mean_labels=6.0,
                  signal=0.35, min_len=80, max_len=250),
}
#: the CJK Unified Ideographs the ``cjk`` script draws its characters from
CJK_FIRST, CJK_COUNT = 0x4E00, 3000
SPLIT = (0.8, 0.1, 0.1)


def generate(num_texts: int, num_labels: int, content_vocab: int, noise_vocab: int, *, seed: int = 0,
             zipf: float = 1.0, mean_labels: float = 2.0, words_per_label: int = 8, signal: float = 0.2,
             min_len: int = 30, max_len: int = 120, script: str = "latin") -> tuple[list[str], list[list[str]]]:
    """Texts and label lists (see the module docstring); ``script='cjk'`` writes each word as one
    or two CJK characters (content words two) and joins them without spaces."""
    if script not in ("latin", "cjk"):
        raise ValueError(f"script must be 'latin' or 'cjk', got {script!r}")
    rng = np.random.default_rng(seed)
    label_cdf = np.cumsum(1.0 / np.arange(1, num_labels + 1) ** zipf)
    label_cdf /= label_cdf[-1]
    topic_words = rng.integers(0, content_vocab, size=(num_labels, words_per_label))
    topic_weights = 1.0 / np.arange(1, words_per_label + 1)  # a label's first words are its commonest
    topic_cdf = np.cumsum(topic_weights) / topic_weights.sum()
    noise_cdf = np.cumsum(1.0 / np.arange(1, noise_vocab + 1))
    noise_cdf /= noise_cdf[-1]
    names = [f"L{j:05d}" for j in range(num_labels)]
    content = [f"c{w}" for w in range(content_vocab)]
    noise = [f"n{w}" for w in range(noise_vocab)]
    sep = " "
    if script == "cjk":
        glyphs = np.random.default_rng(seed + 1)

        def word(chars: int) -> str:
            return "".join(chr(CJK_FIRST + int(c)) for c in glyphs.integers(0, CJK_COUNT, size=chars))
        content = [word(2) for _ in content]
        noise = [word(int(glyphs.integers(1, 3))) for _ in noise]
        sep = ""

    counts = 1 + rng.poisson(mean_labels - 1, size=num_texts)
    draws = np.searchsorted(label_cdf, rng.random((num_texts, 4 * int(counts.max()))))
    lengths = rng.integers(min_len, max_len + 1, size=num_texts)
    texts, labels = [], []
    for i in range(num_texts):
        own = list(dict.fromkeys(draws[i].tolist()))[: counts[i]]
        n = int(lengths[i])
        is_topic = rng.random(n) < signal
        which = rng.integers(0, len(own), size=n)
        word_rank = np.searchsorted(topic_cdf, rng.random(n))
        noise_rank = np.searchsorted(noise_cdf, rng.random(n))
        tokens = [content[topic_words[own[which[k]], word_rank[k]]] if is_topic[k] else noise[noise_rank[k]]
                  for k in range(n)]
        texts.append(sep.join(tokens))
        labels.append([names[j] for j in sorted(own)])
    return texts, labels


def scale_of(name: str, default: str = "full") -> str:
    """The scale a data set name gives (``synthetic-small`` -> ``small``; plain ``synthetic``: ``default``)."""
    return name[len("synthetic-"):] if name.startswith("synthetic-") else default


def write_splits(out: str | Path, scale: str = "full", seed: int = 0) -> dict[str, Path]:
    """Write ``train/validation/test.jsonl`` (80/10/10) and ``meta.json`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = SCALES[scale]
    texts, labels = generate(**params, seed=seed)
    n = len(texts)
    cut1, cut2 = int(SPLIT[0] * n), int((SPLIT[0] + SPLIT[1]) * n)
    paths = {}
    for split, rows in (("train", range(0, cut1)), ("validation", range(cut1, cut2)), ("test", range(cut2, n))):
        paths[split] = out / f"{split}.jsonl"
        with open(paths[split], "w", encoding="utf-8") as f:
            for i in rows:
                f.write(json.dumps({"text": texts[i], "labels": labels[i]}, ensure_ascii=False) + "\n")
    meta = {"scale": scale, "seed": seed, **params, "split": dict(zip(("train", "validation", "test"), SPLIT)),
            "mean_labels_per_text": round(sum(map(len, labels)) / n, 3),
            "labels_used": len({l for ls in labels for l in ls})}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return paths


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="Folder for train/validation/test.jsonl.")
    p.add_argument("--scale", choices=sorted(SCALES), default="full")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    paths = write_splits(args.out, args.scale, args.seed)
    print(json.dumps({k: str(v) for k, v in paths.items()}))
    print((Path(args.out) / "meta.json").read_text())


if __name__ == "__main__":
    main()
