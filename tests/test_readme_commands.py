"""Every fenced shell command of README.md runs as written on a fresh clone, from a shell that has not activated
.venv/ (its PATH holds no .venv/bin) and with no data downloaded.

Each command of a ```bash block (the whole block where it activates an environment for the next line) runs in a
private copy of the repository whose .venv is this environment. Commands that would train for minutes (the
default run, one table of it, the cluster's paper run) run with `dryrun: true` in the copy's workflow profile, so
that the command itself is the README's; the smoke table, the cost table and the paper configuration's dry run
run for real. `make test` is this suite, and `make rehearsal` has its own test (tests/test_rehearsal.py)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)

pytestmark = pytest.mark.slow

# Blocks by what they start: skipped, dry-run through the copy's profile, or run for real.
SKIPPED = {"make test": "this test suite", "make rehearsal": "tests/test_rehearsal.py runs its part of CI"}
DRY_RUN = ("make all_tables", ".venv/bin/snakemake --cores 2 table2e", "--profile slurm")


def readme_blocks():
    """The commands of README.md's ```bash blocks, comments and blank lines removed: one list per command, or
    one for a whole block that activates an environment (`source`) for the lines after it."""
    text = (ROOT / "README.md").read_text()
    units = []
    for body in re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        commands = [re.sub(r"\s+#.*$", "", line).strip() for line in body.splitlines()]
        commands = [command for command in commands if command and not command.startswith("#")]
        units += [commands] if any("source " in command for command in commands) else [[c] for c in commands]
    return units


def clean_path():
    """The PATH of a shell that has not activated .venv/: this interpreter's folder taken out."""
    own = {str(VENV / "bin"), str(Path(sys.executable).parent)}
    return os.pathsep.join(part for part in os.environ["PATH"].split(os.pathsep) if part not in own)


def fresh_copy(tmp_path, dry_run):
    """What a fresh clone holds (tracked and new files, as git lists them), with this environment as its .venv."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)  # modification times kept: make finds .venv up to date
    (tmp_path / ".venv").symlink_to(VENV)
    # make must find .venv up to date (as after the README's first command), or its venv recipe would reinstall
    # the shared environment's editable ctnet from this copy.
    installed = (VENV / "bin/snakemake").stat().st_mtime
    for name in ("pyproject.toml", "constraints.txt"):
        os.utime(tmp_path / name, (installed - 60, installed - 60))
    assert subprocess.run(["make", "-q", ".venv/bin/snakemake"], cwd=tmp_path).returncode == 0
    if dry_run:
        with open(tmp_path / "workflow/profiles/default/config.yaml", "a") as handle:
            handle.write("dryrun: true\n")
    return tmp_path


def block_id(block):
    return block[0][:40]


BLOCKS = readme_blocks()


def test_the_readme_has_the_commands_a_newcomer_runs():
    commands = [command for block in BLOCKS for command in block]
    for expected in ("make all_tables", "make test", "--configfile config/smoke.yaml", "snakemake cost",
                     "-n all_tables --configfile config/paper.yaml", "--profile slurm"):
        assert any(expected in command for command in commands), expected


@pytest.mark.parametrize("block", BLOCKS, ids=block_id)
def test_readme_block_runs_from_a_shell_without_the_environment(block, tmp_path):
    script = "\n".join(block)
    skipped = [reason for command, reason in SKIPPED.items() if command in script]
    if skipped:
        pytest.skip(skipped[0])
    dry_run = any(marker in script for marker in DRY_RUN)
    work = fresh_copy(tmp_path, dry_run)
    env = {**os.environ, "PATH": clean_path(), "PYTHONNOUSERSITE": "1"}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True,
                            text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "ModuleNotFoundError" not in output and "command not found" not in output
    if "smoke.yaml" in script:
        assert (work / "results/tables/2e.md").is_file()
    if "snakemake cost" in script:
        assert "official release's" in (work / "results/tables/cost.md").read_text()
