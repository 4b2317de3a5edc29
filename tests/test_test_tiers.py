"""Every test that reads the shared data sets is marked slow (the rule is in conftest.py).

Read from the test files with ``ast``, so it holds whichever tests a run collects: a test reads
the data sets when it (or a fixture it uses, transitively) takes ``data_dir``, or names
``MLTC_DATA_DIR`` / ``DATA_DIR``.
"""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DATA_FIXTURES = {"data_dir"}
DATA_NAMES = ("MLTC_DATA_DIR", "DATA_DIR")


def _is_slow(node: ast.expr) -> bool:
    """``pytest.mark.slow`` (or ``pytest.mark.slow(...)``)."""
    if isinstance(node, ast.Call):
        node = node.func
    return (isinstance(node, ast.Attribute) and node.attr == "slow" and isinstance(node.value, ast.Attribute)
            and node.value.attr == "mark")


def _is_fixture(node: ast.expr) -> bool:
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Attribute) and node.attr == "fixture" or isinstance(node, ast.Name) and node.id == "fixture"


def _params(fn: ast.FunctionDef) -> set[str]:
    return {a.arg for a in fn.args.args + fn.args.kwonlyargs}


def _functions(tree: ast.Module):
    """Module-level functions and methods of module-level classes."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from (n for n in node.body if isinstance(n, ast.FunctionDef))


def _module_is_slow(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            if any(_is_slow(v) for v in values):
                return True
    return False


def _fixtures(tree: ast.Module) -> dict[str, set[str]]:
    return {fn.name: _params(fn) for fn in _functions(tree) if any(_is_fixture(d) for d in fn.decorator_list)}


def unmarked_data_tests(sources: dict[str, str]) -> list[str]:
    """``file::test`` for each test that reads the data sets without a slow mark; ``sources`` maps file names to code."""
    trees = {name: ast.parse(code) for name, code in sources.items()}
    shared = _fixtures(trees["conftest.py"]) if "conftest.py" in trees else {}
    offenders = []
    for name, tree in trees.items():
        if not name.startswith("test_"):
            continue
        fixtures = {**shared, **_fixtures(tree)}
        for node in tree.body:  # fixtures imported from another test module
            if isinstance(node, ast.ImportFrom) and node.module and f"{node.module}.py" in trees:
                other = _fixtures(trees[f"{node.module}.py"])
                fixtures.update({a.name: other[a.name] for a in node.names if a.name in other})
        data = set(DATA_FIXTURES)
        while True:  # fixtures built on data fixtures read the data sets too
            more = {f for f, params in fixtures.items() if params & data} - data
            if not more:
                break
            data |= more
        module_slow = _module_is_slow(tree)
        lines = sources[name].splitlines()
        for fn in _functions(tree):
            if not fn.name.startswith("test_"):
                continue
            body = "\n".join(lines[fn.lineno - 1:fn.end_lineno])
            reads = bool(_params(fn) & data) or any(word in body for word in DATA_NAMES)
            if reads and not module_slow and not any(_is_slow(d) for d in fn.decorator_list):
                offenders.append(f"{name}::{fn.name}")
    return offenders


def test_tests_reading_the_data_sets_are_marked_slow():
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(TESTS.glob("*.py")) if p.name != Path(__file__).name}
    offenders = unmarked_data_tests(sources)
    assert not offenders, "these tests read the shared data sets (MLTC_DATA_DIR); mark them @pytest.mark.slow: " + \
        ", ".join(offenders)


def test_the_check_finds_unmarked_data_tests():
    conftest = "import pytest\n@pytest.fixture\ndef data_dir(): ...\n@pytest.fixture\ndef corpus(data_dir): ...\n"
    tests = ("import os, pytest\n"
             "def test_a(corpus): ...\n"
             "@pytest.mark.slow\ndef test_b(corpus): ...\n"
             "def test_c(tmp_path):\n    os.environ['MLTC_DATA_DIR']\n"
             "def test_d(tmp_path): ...\n")
    assert unmarked_data_tests({"conftest.py": conftest, "test_x.py": tests}) == ["test_x.py::test_a", "test_x.py::test_c"]
    slow_module = "import pytest\npytestmark = [pytest.mark.slow]\ndef test_a(corpus): ...\n"
    assert unmarked_data_tests({"conftest.py": conftest, "test_y.py": slow_module}) == []
