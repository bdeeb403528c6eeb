"""The layers of docs/architecture.md, held by walking every module's imports (ast, no import is executed).

- the library (everything but ``archfit/cli/``, ``archfit/run/`` and ``archfit/api.py``) never imports
  ``archfit.cli`` or ``archfit.run``;
- plug-ins (strategies, estimators, spaces, supernet, compress, differentiable, quantize, predict, proxies)
  never import ``archfit.run``.

Entry points: a module listed in ``ENTRY_POINTS`` may import the job or the CLI inside its
``if __name__ == "__main__":`` block only. That block is not library code: it runs only when the module is
launched (``python -m archfit``, ``torchrun -m archfit.train.ddp``, ``torchrun -m archfit.supernet.ddp``,
the documented commands), never when the library is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "archfit"
TOP_LAYERS = ("archfit/cli/", "archfit/run/")
TOP_MODULES = ("archfit/api.py",)
PLUGINS = ("strategy", "estimate", "space", "supernet", "compress", "differentiable", "quantize", "predict",
           "proxies")
ENTRY_POINTS = {  # module → what its __main__ block may launch
    "archfit/__main__.py": ("archfit.cli",),
    "archfit/train/ddp.py": ("archfit.run",),
    "archfit/supernet/ddp.py": ("archfit.run",),
}


def _is_main_guard(node: ast.AST) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators))


def imports(path: Path) -> list[tuple[int, str, bool]]:
    """``(line, imported module, inside the __main__ block)`` for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str, bool]] = []

    def walk(node: ast.AST, in_main: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_main or _is_main_guard(child)
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name, inside) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.lineno, child.module, inside))
                found.extend((child.lineno, f"{child.module}.{alias.name}", inside) for alias in child.names)
            walk(child, inside)

    walk(tree, False)
    return found


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _modules() -> list[tuple[str, Path]]:
    root = PACKAGE.parent
    return sorted((p.relative_to(root).as_posix(), p) for p in PACKAGE.rglob("*.py"))


def violations() -> list[str]:
    found = []
    for name, path in _modules():
        library = not name.startswith(TOP_LAYERS) and name not in TOP_MODULES
        plugin = name.split("/")[1] in PLUGINS
        forbidden = ("archfit.cli", "archfit.run") if library else ()
        if plugin:
            forbidden += ("archfit.run",)
        allowed = ENTRY_POINTS.get(name, ())
        for line, module, in_main in imports(path):
            for prefix in forbidden:
                if _under(module, prefix) and not (in_main and prefix in allowed):
                    found.append(f"{name}:{line} imports {prefix} ({'plug-in' if plugin else 'library'})")
    return sorted(set(found))  # one line per import statement and forbidden layer (aliases repeat it)


def test_library_and_plugins_never_import_the_layers_above():
    assert violations() == []


def test_the_walk_sees_nested_imports_and_main_blocks(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import os\ndef f():\n    from archfit.run.job import x\n"
                      "if __name__ == '__main__':\n    from archfit.cli import main\n")
    assert imports(source) == [(1, "os", False), (3, "archfit.run.job", False), (3, "archfit.run.job.x", False),
                               (5, "archfit.cli", True), (5, "archfit.cli.main", True)]


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_entry_points_exist(entry):
    assert (PACKAGE.parent / entry).is_file()
