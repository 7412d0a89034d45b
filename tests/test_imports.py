"""How ctnet's modules import each other: no circle, nothing from a lower layer into a higher one, and the planning
side (ctnet.workflow and whatever the Snakefile imports) loads neither torch nor PyAV, which a dry run or `snakemake
cost` on a login node must not pay for (seconds each) nor need."""
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Lowest first; a module imports from its own layer or lower ones only. The data package sits below the experiment
# file: ctnet.experiment checks a `data:` section with ctnet.data.spec, never the other way round.
LAYERS = [
    ("ctnet", "ctnet.atomic", "ctnet.cache", "ctnet.paths", "ctnet.process", "ctnet.progress", "ctnet.model_spec"),
    ("ctnet.data", "ctnet.models"),
    ("ctnet.experiment", "ctnet.flops"),
    ("ctnet.engine",),
    ("ctnet.workflow",),
]


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph():
    """Module -> the ctnet modules its code imports anywhere (a function's lazy import too: a circle through one
    is a circle all the same). `from package import name` counts as the submodule where `name` is one."""
    files = {module_name(path): path for path in (ROOT / "ctnet").rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: `from .x import y` in package p is p.x
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + [base] if base else anchor)
                imported.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                                for alias in node.names)
        graph[name] = {module for module in imported if module in files and module != name}
    return graph


def layer(module):
    """The index in LAYERS of the longest prefix naming `module`'s place."""
    matches = [(len(prefix), index) for index, prefixes in enumerate(LAYERS) for prefix in prefixes
               if module == prefix or (prefix != "ctnet" and module.startswith(prefix + "."))]
    assert matches, f"{module} is in no layer of tests/test_imports.py; add it to LAYERS"
    return max(matches)[1]


def test_no_module_imports_from_a_higher_layer():
    graph = import_graph()
    upward = [f"{module} -> {target}" for module, targets in sorted(graph.items()) for target in sorted(targets)
              if layer(target) > layer(module)]
    assert not upward, upward


def test_no_import_circle():
    graph = import_graph()
    done, path = set(), []

    def visit(module):
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph[module]):
            circle = visit(target)
            if circle:
                return circle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        circle = visit(module)
        assert circle is None, " -> ".join(circle)


def test_the_planning_side_loads_neither_torch_nor_pyav():
    """The Snakefile's own `import ctnet...` lines (at the top of its rule files), run as written."""
    lines = [line for path in [ROOT / "workflow/Snakefile", *sorted((ROOT / "workflow/rules").glob("*.smk"))]
             for line in path.read_text().splitlines() if re.match(r"(import|from) ctnet\b", line)]
    assert "from ctnet.workflow import Plan" in lines  # the pattern still finds the Snakefile's imports
    code = "\n".join([*lines, "import ctnet.workflow, ctnet.experiment, ctnet.data.registry, ctnet.data.spec",
                      "import sys", "print(' '.join(sorted({'torch', 'av'} & set(sys.modules))))"])
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"loaded: {result.stdout.strip()}"
