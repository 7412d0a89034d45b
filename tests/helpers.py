"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(name):
    """A program of scripts/ as a module, so its main(argv) runs in-process (no interpreter start-up per call)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
