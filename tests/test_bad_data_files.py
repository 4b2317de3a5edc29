"""Bad training/test files: every one is a clear DataFormatError (file and line) or exit 2.

What training accepts, loading accepts: a label that could never be loaded back is refused
when the data is read, not after a model has been written.
"""
import json

import pytest
from click.testing import CliRunner

from conftest import TOY_TRAIN, TOY_VAL
from mltc.cli.main import cli
from mltc.data import DataFormatError, LabelSpace, read_csv, read_fasttext, read_file, read_jsonl


def write(tmp_path, name, content):
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


def jsonl(rows):
    return "".join(json.dumps({"text": t, "labels": l}, ensure_ascii=False) + "\n" for t, l in rows)


# ------------------------------------------------------------------------ empty labels
@pytest.mark.parametrize("labels", [[""], [" "], ["\u3000"], ["a", "\t"]])
def test_jsonl_empty_or_blank_label_names_file_and_line(tmp_path, labels):
    p = write(tmp_path, "d.jsonl", jsonl([("ok", ["a"]), ("bad", labels)]))
    with pytest.raises(DataFormatError, match=r"d\.jsonl:2: empty or whitespace-only label"):
        read_jsonl(p)


@pytest.mark.parametrize("line", ["__label__\u3000 text", "__label__a __label__\u3000", "__label__"])
def test_fasttext_blank_label_is_an_error(tmp_path, line):
    p = write(tmp_path, "d.txt", "__label__a fine\n" + line + "\n")
    with pytest.raises(DataFormatError, match=r"d\.txt:2: empty label name"):
        read_fasttext(p)


def test_csv_empty_pieces_are_skipped_but_blank_labels_are_errors(tmp_path):
    p = write(tmp_path, "d.csv", 'text,labels\none,"a,,b,"\ntwo,\n')
    ex = read_csv(p)
    assert ex[0].labels == ("a", "b") and ex[1].labels == ()
    for cell in ['"a, ,b"', "\u3000", '"a,\u3000"']:
        p = write(tmp_path, "e.csv", f"text,labels\nfine,a\nbad,{cell}\n")
        with pytest.raises(DataFormatError, match=r"e\.csv:3: empty or whitespace-only label"):
            read_csv(p)


def test_cli_refuses_blank_label_before_training(tmp_path):
    tr = write(tmp_path, "train.jsonl", jsonl(TOY_TRAIN + [("blank", [""])]))
    va = write(tmp_path, "val.jsonl", jsonl(TOY_VAL))
    res = CliRunner().invoke(cli, ["train", "--train", str(tr), "--validation", str(va),
                                   "--out", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    assert f"train.jsonl:{len(TOY_TRAIN) + 1}: empty or whitespace-only label" in res.output
    assert not (tmp_path / "run" / "model").exists()


def test_label_space_refuses_blank_labels_from_the_api():
    with pytest.raises(ValueError, match="non-empty"):
        LabelSpace().fit([("a",), ("\u3000",)])


# ----------------------------------------------------------------------------- fastText
def test_fasttext_bom_is_stripped(tmp_path):
    p = write(tmp_path, "d.txt", "\ufeff__label__a __label__b hello\n__label__c bye\n".encode("utf-8"))
    ex = read_fasttext(p)
    assert ex[0].labels == ("a", "b") and ex[0].text == "hello"


def test_fasttext_tab_separates_labels_and_text(tmp_path):
    p = write(tmp_path, "d.txt", "__label__a\tapple pie\n__label__b\t__label__c\tcherry\tjam\n")
    ex = read_fasttext(p)
    assert ex[0].labels == ("a",) and ex[0].text == "apple pie"
    assert ex[1].labels == ("b", "c") and ex[1].text == "cherry\tjam"


# ---------------------------------------------------------------------------- JSON Lines
@pytest.mark.parametrize("labels", [[True], [1], [None], [["a"]], [{"a": 1}]])
def test_jsonl_labels_must_be_strings(tmp_path, labels):
    p = write(tmp_path, "d.jsonl", json.dumps({"text": "x", "labels": labels}) + "\n")
    with pytest.raises(DataFormatError, match=r"d\.jsonl:1: labels must be strings"):
        read_jsonl(p)


def test_deeply_nested_json_is_a_clear_error(tmp_path):
    p = write(tmp_path, "d.jsonl", '{"text": "x", "labels": ' + "[" * 1500 + "]" * 1500 + "}\n")
    with pytest.raises(DataFormatError, match=r"d\.jsonl:1: invalid JSON: nested too deeply"):
        read_jsonl(p)


def test_jsonl_bom_is_stripped(tmp_path):
    p = write(tmp_path, "d.jsonl", "\ufeff" + jsonl([("x", ["a"])]))
    assert read_jsonl(p)[0].labels == ("a",)


@pytest.mark.parametrize("cell", ["\"['a', 'b']\"", "\"[\"\"a\"\", \"\"b\"\"]\"", "\"[ 'a' ]\""])
def test_pandas_list_cell_is_detected(tmp_path, cell):
    p = write(tmp_path, "d.csv", f"text,labels\nx,{cell}\n")
    with pytest.raises(DataFormatError, match=r"d\.csv:2: .*looks like a Python list.*a,b"):
        read_csv(p)


# ------------------------------------------------------------------------- empty files
@pytest.mark.parametrize("name,content", [("train.csv", ""), ("train.csv", "text,labels\n"),
                                          ("train.jsonl", ""), ("train.jsonl", "\n\n"), ("train.txt", "")])
def test_empty_training_file_says_it_has_no_rows(tmp_path, name, content):
    tr = write(tmp_path, name, content)
    va = write(tmp_path, "val.jsonl", jsonl(TOY_VAL))
    res = CliRunner().invoke(cli, ["train", "--train", str(tr), "--validation", str(va),
                                   "--out", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    assert str(tr) in res.output and ("no rows" in res.output or "empty file" in res.output), res.output


def test_empty_test_file_is_an_error(tmp_path):
    tr = write(tmp_path, "train.jsonl", jsonl(TOY_TRAIN))
    va = write(tmp_path, "val.jsonl", jsonl(TOY_VAL))
    run = tmp_path / "run"
    res = CliRunner().invoke(cli, ["train", "--train", str(tr), "--validation", str(va),
                                   "--out", str(run)])
    assert res.exit_code == 0, res.output
    empty = write(tmp_path, "test.jsonl", "")
    res = CliRunner().invoke(cli, ["evaluate", str(run / "model"), "--test", str(empty)])
    assert res.exit_code == 2 and "test.jsonl: the file has no rows" in res.output, res.output


# ------------------------------------------------------------------- labels with commas
def test_label_with_comma_round_trips_through_jsonl(tmp_path):
    rows = [(t, [l.replace("grain", "grain, cereals") for l in ls]) for t, ls in TOY_TRAIN]
    tr = write(tmp_path, "train.jsonl", jsonl(rows))
    va = write(tmp_path, "val.jsonl", jsonl([(t, [l.replace("grain", "grain, cereals") for l in ls])
                                             for t, ls in TOY_VAL]))
    assert ("grain, cereals", "wheat") == read_file(tr)[0].labels
    run = tmp_path / "run"
    runner = CliRunner()
    res = runner.invoke(cli, ["train", "--train", str(tr), "--validation", str(va), "--out", str(run)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["predict", str(run / "model"), "-", "--all-scores"], input="wheat grain\n")
    assert res.exit_code == 0 and "grain, cereals" in json.loads(res.output.splitlines()[0])["scores"], res.output


def test_label_with_comma_in_csv_with_another_separator(tmp_path):
    p = write(tmp_path, "d.csv", 'text,labels\nx,"Smith, John|Doe, Jane"\n')
    assert read_csv(p, label_sep="|")[0].labels == ("Smith, John", "Doe, Jane")


def test_csv_training_file_with_jsonl_validation_file(tmp_path):
    """Files of different formats in one run: CSV options reach the CSV reader only (was a TypeError)."""
    tr = write(tmp_path, "train.csv", "text,labels\n" + "".join(f'"{t}","{",".join(l)}"\n' for t, l in TOY_TRAIN))
    va = write(tmp_path, "val.jsonl", jsonl(TOY_VAL))
    res = CliRunner().invoke(cli, ["train", "--train", str(tr), "--validation", str(va),
                                   "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    bad = write(tmp_path, "bad.csv", 'text,labels\nwheat,"grain, ,wheat"\n')
    res = CliRunner().invoke(cli, ["train", "--train", str(bad), "--validation", str(va),
                                   "--out", str(tmp_path / "run2")])
    assert res.exit_code == 2 and "bad.csv:2: empty or whitespace-only label" in res.output, res.output


def test_labels_joined_by_another_separator_are_not_split_silently(tmp_path, caplog):
    """A TSV whose labels are joined by '|' read with the default ',': each cell stays one label (what was
    asked), and the log says which separator the file seems to use."""
    p = tmp_path / "t.tsv"
    p.write_text("text\tlabels\nfirst text\torgs:ec|orgs:imf\nsecond text\torgs:imf\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="mltc"):
        ex = read_csv(p)
    assert ex[0].labels == ("orgs:ec|orgs:imf",)
    assert "--label-sep '|'" in caplog.text and "1 label cell(s)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="mltc"):
        assert read_csv(p, label_sep="|")[0].labels == ("orgs:ec", "orgs:imf")
        q = tmp_path / "c.csv"
        q.write_text('text,labels\na,"x,y"\nb,p|q\n', encoding="utf-8")
        read_csv(q)  # a cell holds ',': the separator is in use, '|' is part of a label
    assert "label-sep" not in caplog.text
