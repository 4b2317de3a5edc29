"""Readers (errors name file and line), named data sets, label space and statistics."""
import json

import numpy as np
import pytest

from mltc.data import (DataFormatError, LabelSpace, cooccurrence, dataset_statistics, label_count_groups, load_dataset,
                       read_csv, read_fasttext, read_file, read_jsonl)


def write(tmp_path, name, content, mode="w"):
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


# ------------------------------------------------------------------------------ readers
def test_csv_quoted_tabs_newlines_and_label_sep(tmp_path):
    p = write(tmp_path, "d.csv", 'id,text,tags\n1,"line one\nline\ttwo, with comma","a|b"\n2,plain,\n')
    ex = read_csv(p, label_column="tags", label_sep="|", id_column="id")
    assert ex[0].text == "line one\nline\ttwo, with comma" and ex[0].labels == ("a", "b")
    assert ex[1].labels == () and ex[1].id == "2"


def test_tsv_default_delimiter_and_bad_row_names_line(tmp_path):
    p = write(tmp_path, "d.tsv", "text\tlabels\nok\ta,b\nbroken row\ta\textra\n")
    with pytest.raises(DataFormatError, match=r"d\.tsv:3: expected 2 fields"):
        read_file(p)


def test_csv_missing_column(tmp_path):
    p = write(tmp_path, "d.csv", "body,labels\nx,a\n")
    with pytest.raises(DataFormatError, match=r"d\.csv:1: no column 'text'"):
        read_csv(p)


def test_non_utf8_names_file_and_line(tmp_path):
    p = write(tmp_path, "d.jsonl", b'{"text": "ok", "labels": ["a"]}\n{"text": "caf\xe9", "labels": []}\n')
    with pytest.raises(DataFormatError, match=r"d\.jsonl:2: not valid utf-8"):
        read_jsonl(p)
    p2 = write(tmp_path, "d.csv", b"text,labels\nfine,a\nbad \xff,b\n")
    with pytest.raises(DataFormatError, match=r"d\.csv:3: not valid utf-8"):
        read_csv(p2)


def test_jsonl_errors(tmp_path):
    p = write(tmp_path, "d.jsonl", '{"text": "a", "labels": ["x"]}\n\n{"text": 3}\n')
    with pytest.raises(DataFormatError, match=r"d\.jsonl:3: field 'text' must be a string"):
        read_jsonl(p)
    p = write(tmp_path, "e.jsonl", '{"text": "a", "labels": "x,y"}\n')
    with pytest.raises(DataFormatError, match="list of strings, not a string"):
        read_jsonl(p)
    p = write(tmp_path, "f.jsonl", '{"text": "a", "labels": [\n')
    with pytest.raises(DataFormatError, match=r"f\.jsonl:1: invalid JSON"):
        read_jsonl(p)


def test_jsonl_newlines_and_no_labels(tmp_path):
    p = write(tmp_path, "d.jsonl", json.dumps({"text": "two\nlines\tand tab", "labels": []}) + "\n")
    (ex,) = read_jsonl(p)
    assert ex.text == "two\nlines\tand tab" and ex.labels == ()


def test_fasttext(tmp_path):
    p = write(tmp_path, "d.txt", "__label__a __label__b hello world\n__label__c  spaced  text\nno labels here\n")
    ex = read_fasttext(p)
    assert ex[0].labels == ("a", "b") and ex[0].text == "hello world"
    assert ex[1].labels == ("c",)
    assert ex[2].labels == () and ex[2].text == "no labels here"
    bad = write(tmp_path, "e.txt", "__label__ text\n")
    with pytest.raises(DataFormatError, match=r"e\.txt:1: empty label name"):
        read_fasttext(bad)


def test_huge_text_is_read(tmp_path):
    big = "word " * 300_000  # 1.5 MB, above csv's default field limit
    p = write(tmp_path, "d.csv", f'text,labels\n"{big}",a\n')
    assert len(read_csv(p)[0].text) == len(big)


def test_unknown_format(tmp_path):
    p = write(tmp_path, "d.xyz", "x")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_file(p)


# -------------------------------------------------------------------------- label space
def test_label_space_frequencies_unlabelled_and_unseen():
    space = LabelSpace().fit([["a", "b"], ["a"], []])
    assert space.labels == ["a", "b"] and space.class_freq_.tolist() == [2, 1]
    assert space.train_num_ == 3 and space.n_unlabelled_ == 1
    enc = space.encode([["a", "zzz"], ["b"], ["zzz", "yyy"]])
    assert enc.Y.tolist() == [[1, 0], [0, 1], [0, 0]]
    assert enc.unseen == {"zzz": 2, "yyy": 1} and enc.texts_with_unseen == 2
    assert space.decode([1, 1]) == ["a", "b"]
    again = LabelSpace.from_dict(json.loads(json.dumps(space.to_dict())))
    assert again.labels == space.labels and again.class_freq_.tolist() == [2, 1]


def test_declared_labels_get_zero_frequency():
    space = LabelSpace(["a", "b", "c"]).fit([["a"], ["b"]])
    assert space.zero_frequency_labels == ["c"]
    with pytest.raises(ValueError, match="not in the declared label list"):
        LabelSpace(["a"]).fit([["b"]])
    with pytest.raises(ValueError, match="duplicate"):
        LabelSpace(["a", "a"])


def test_groups_use_paper_cutoffs():
    space = LabelSpace([str(i) for i in range(5)])
    space.class_freq_ = np.array([100, 35, 34, 9, 8])
    g = space.groups()
    assert g["head"].tolist() == [0, 1] and g["medium"].tolist() == [2, 3] and g["tail"].tolist() == [4]


def test_cooccurrence_and_label_count_groups():
    Y = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]])
    P = cooccurrence(Y)
    assert P[1, 0] == pytest.approx(0.5) and P[0, 1] == pytest.approx(1.0) and P[0, 2] == 0
    groups = label_count_groups(Y, (1,))
    assert groups["0"].tolist() == [3] and groups["1"].tolist() == [1, 2] and groups[">1"].tolist() == [0]
    assert list(label_count_groups(Y, (1, 2))) == ["0", "1", "2", ">2"]


# ------------------------------------------------------------------- real data sets
@pytest.mark.slow
def test_reuters_apte_mod(reuters):
    assert len(reuters.train) + len(reuters.validation) == 7770
    assert len(reuters.validation) == 1000 and len(reuters.test) == 3019
    assert len(reuters.labels) == 90 and "earn" in reuters.labels
    texts = {e.id: e for e in reuters.train + reuters.validation + reuters.test}
    assert all(e.text.strip() for e in texts.values())
    assert not any("&lt;" in e.text or "\x03" in e.text for e in texts.values())


@pytest.mark.slow
def test_reuters_split_is_the_papers(reuters):
    """The paper's draw: train_test_split(random_state=123, test_size=1000) over the training texts in
    NEWID order; every label occurs in the 6,770 training texts; groups 30 head / 29 medium / 31 tail."""
    from sklearn.model_selection import train_test_split
    space = LabelSpace(reuters.labels).fit(e.labels for e in reuters.train)
    assert len(reuters.train) == 6770 and (space.class_freq_ > 0).all()
    freq = space.class_freq_
    assert ((freq >= 35).sum(), ((freq >= 9) & (freq <= 34)).sum(), (freq <= 8).sum()) == (30, 29, 31)
    full = sorted(reuters.train + reuters.validation, key=lambda e: int(e.id))
    tr, va = train_test_split(full, random_state=123, test_size=1000)
    assert [e.id for e in va] == [e.id for e in reuters.validation]
    assert [e.id for e in tr] == [e.id for e in reuters.train]


@pytest.mark.slow
def test_reuters_all_categories(data_dir):
    d = load_dataset("reuters21578-all", data_dir)
    assert len(d.labels) == 368 and "places:usa" in d.labels and "topics:earn" in d.labels
    assert len(d.validation) == 1000


@pytest.mark.slow
def test_reuters_stats(reuters):
    st = dataset_statistics(reuters)
    assert st["num_labels"] == 90
    sizes = {g: v["num_labels"] for g, v in st["groups"].items()}
    assert sum(sizes.values()) == 90 and sizes["head"] > 0 and sizes["tail"] > 0
    assert st["splits"]["test"]["texts"] == 3019


@pytest.mark.slow
def test_goemotions(data_dir):
    d = load_dataset("goemotions", data_dir)
    assert (len(d.train), len(d.validation), len(d.test)) == (43410, 5426, 5427)
    assert len(d.labels) == 28 and d.labels[-1] == "neutral"
    assert not any(e.text.startswith('"') and e.text.endswith('"') and '""' in e.text for e in d.train)


@pytest.mark.parametrize("domain", ["divorce", "labor", "loan"])
@pytest.mark.slow
def test_cail_split_by_document(data_dir, domain):
    d = load_dataset(f"cail2019-{domain}", data_dir)

    def docs(examples):
        return {e.id.split("-")[0] for e in examples}

    assert not docs(d.train) & docs(d.test) and not docs(d.train) & docs(d.validation)
    assert len(d.labels) == 20
    again = load_dataset(f"cail2019-{domain}", data_dir)
    assert [e.id for e in again.test] == [e.id for e in d.test]
    assert any(not e.labels for e in d.train)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("nope", ".")
