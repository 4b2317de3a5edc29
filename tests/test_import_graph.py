"""No import cycles: none at module level anywhere in mltc, and none even through imports inside
functions among the classifier, the tasks, the trainer and the fine-grained entry points (issue 10)."""
import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def import_graph(nested: bool) -> dict[str, set[str]]:
    """module -> mltc modules it imports (``nested``: also imports inside functions and classes)."""
    files = {}
    for path in (SRC / "mltc").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        files[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    graph = {}
    for name, (path, is_pkg) in files.items():
        package = name if is_pkg else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = ast.walk(tree) if nested else (n for top in tree.body for n in (
            ast.walk(top) if isinstance(top, (ast.If, ast.Try)) else [top]))
        deps = set()
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    deps.add(full if full in files else target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def cycles(graph: dict[str, set[str]], among: set[str] | None = None) -> list[list[str]]:
    found, done = [], set()

    def visit(module, path):
        for dep in sorted(graph[module]):
            if among is not None and dep not in among:
                continue
            if dep in path:
                found.append(path[path.index(dep):] + [dep])
            elif dep not in done:
                visit(dep, path + [dep])
        done.add(module)

    for module in sorted(graph):
        if (among is None or module in among) and module not in done:
            visit(module, [module])
    return found


def test_no_module_level_import_cycles():
    assert cycles(import_graph(nested=False)) == []


def test_the_task_seam_has_no_cycle_even_through_lazy_imports():
    graph = import_graph(nested=True)
    seam = {m for m in graph if m.startswith(("mltc.tasks", "mltc.training", "mltc.data", "mltc.metrics",
                                                "mltc.losses", "mltc.decision"))}
    seam |= {"mltc.classifier", "mltc.finegrained", "mltc.modelcheck", "mltc.io"}
    assert cycles(graph, seam) == []
    assert not any(m.startswith(("mltc.training", "mltc.finegrained", "mltc.serving", "mltc.cli"))
                   for m in graph["mltc.classifier"] | graph["mltc.tasks.graded"] | graph["mltc.tasks.multilabel"])
