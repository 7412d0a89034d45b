"""The workflow on a real SLURM scheduler (issue 7): one table of the smoke configuration built through
`snakemake --profile slurm`, every compute job submitted with sbatch, and a training job stopped by SIGTERM
(`scancel --signal=TERM`, what SLURM sends at a time limit) that Snakemake's retry resumes from its checkpoint.

Needs a running cluster: `.ci/start_slurm.sh` (as root) starts a single-node one, and `.ci/run` does so before
the tests. Without a cluster these tests skip, except in CI (CI=true), where they fail.
"""

import csv
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
TABLE = "2c"  # three ResNet experiments: the smallest smoke table whose models all build at CPU scale
# The smoke schedule (2 epochs of ~2 s) ends before a signal can be aimed at it; 5 epochs leave seconds to spare
# after the first end-of-epoch checkpoint, which is when the test sends SIGTERM.
EPOCHS = 5
# Rules whose jobs run the project's programs and must each be a SLURM job. The table is rendered wherever
# the workflow says (it may keep such small jobs local).
COMPUTE_RULES = {"make_synthetic", "extract_frames", "build_lists", "train", "test", "count_flops"}
RUN_TIMEOUT_S = 540
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
# The CI cluster's site settings: no accounting database, so the plugin polls squeue; polling every few seconds
# keeps the run short (the plugin's first poll waits 40 s by default, sized for big clusters); and the logs of
# successful jobs are kept as evidence that SLURM ran them.
CI_SITE_ARGS = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
                "--slurm-keep-successful-logs"]


def cluster_is_up():
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return "is UP" in ping.stdout


def squeue(*args):
    return subprocess.run(["squeue", "--noheader", *args], capture_output=True, text=True, check=True).stdout


def job_states(job_ids):
    """SLURM job id -> state (COMPLETED, FAILED, ...) from squeue, which keeps finished jobs for MinJobAge."""
    out = squeue("--states=all", "--format=%i|%T", "--jobs=" + ",".join(job_ids))
    return dict(line.split("|") for line in out.split())


def copy_repository(dest):
    """The repository without its outputs, data and environments, so that a run's results/ and .snakemake/ stay
    in a temp folder (the workflow reads files from all over the tree: scripts, configs, environment.yml)."""
    shutil.copytree(REPO, dest, dirs_exist_ok=True, ignore=skip_outputs)


def skip_outputs(folder, names):
    skipped = {"__pycache__", ".pytest_cache"} | {name for name in names if name.endswith(".egg-info")}
    if Path(folder) == REPO:
        skipped |= {".git", ".venv", ".snakemake", "results", "data", "build"}
    return skipped & set(names)


def snakemake_command(*args):
    return [sys.executable, "-m", "snakemake", "--profile", "slurm", f"results/tables/{TABLE}.csv",
            "--configfile", "config/smoke_slurm.yaml", *CI_SITE_ARGS, *args]


def dry_run_jobs(work, env):
    """(rule, wildcards) of every job the run will execute, from a dry run."""
    out = subprocess.run(snakemake_command("--dry-run"), cwd=work, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    jobs = []
    for block in re.split(r"\n(?=rule \w+:)", out.stdout):
        head = re.match(r"rule (\w+):", block)
        if head:
            wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.MULTILINE)
            jobs.append((head.group(1), wildcards.group(1) if wildcards else ""))
    return jobs


def signal_first_training(run, work, log_path, deadline):
    """Wait for a training job of this run to finish its first epoch, then SIGTERM it as SLURM would.

    Returns (SLURM job id, experiment). The signal goes to the job's steps, not its batch shell, as at a time
    limit; the training process in the step checkpoints and exits non-zero.
    """
    first_epoch_saved = re.compile(rf"epoch 1/{EPOCHS}: .*checkpoint saved to")
    while time.monotonic() < deadline:
        if run.poll() is not None:
            pytest.fail(f"snakemake ended (exit {run.returncode}) before any training ran:\n"
                        f"{log_path.read_text()[-6000:]}")
        for line in squeue("--states=RUNNING", "--format=%i|%k|%Z").split():
            job_id, comment, workdir = line.split("|")
            if Path(workdir) != work or not comment.startswith("rule_train_wildcards_"):
                continue
            exp = comment.removeprefix("rule_train_wildcards_")
            train_log = work / "results" / "train" / exp / "train.log"
            if train_log.exists() and first_epoch_saved.search(train_log.read_text()):
                subprocess.run(["scancel", "--signal=TERM", job_id], check=True)
                return job_id, exp
        time.sleep(0.2)
    pytest.fail(f"no training job finished an epoch within the time limit; see {log_path}")


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory):
    if not cluster_is_up():
        message = "no SLURM cluster is running; start one with `sudo bash .ci/start_slurm.sh`"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (.ci/run does so before the tests)")
        pytest.skip(message)
    work = tmp_path_factory.mktemp("slurm_run")
    copy_repository(work)
    smoke = yaml.safe_load((work / "config" / "smoke.yaml").read_text())
    smoke["scale"]["train"]["epochs"] = EPOCHS
    (work / "config" / "smoke_slurm.yaml").write_text(yaml.safe_dump(smoke, sort_keys=False))
    # Jobs run `python scripts/...` through --export=ALL: the interpreter running the tests must come first.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    planned = dry_run_jobs(work, env)
    log_path = work / "snakemake.out"
    deadline = time.monotonic() + RUN_TIMEOUT_S
    with open(log_path, "w") as log:
        run = subprocess.Popen(snakemake_command(), cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            signalled = signal_first_training(run, work, log_path, deadline)
            returncode = run.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if run.poll() is None:
                run.terminate()  # Snakemake cancels its SLURM jobs on SIGTERM
                run.wait(timeout=60)
    output = log_path.read_text()
    assert returncode == 0, f"snakemake --profile slurm failed (exit {returncode}):\n{output[-6000:]}"
    submissions = [(job_id, Path(path)) for job_id, path in SUBMITTED.findall(output)]
    return {"work": work, "output": output, "planned": planned, "submissions": submissions,
            "signalled": signalled}


def submitted_rule(log_path):
    """The rule of a submission, from the plugin's log path .snakemake/slurm_logs/rule_<rule>/<wildcards>/<id>.log."""
    parts = log_path.parts[log_path.parts.index("slurm_logs") + 1:]
    return parts[0].removeprefix("rule_")


def test_table_built_through_slurm(slurm_run):
    spec = yaml.safe_load((REPO / "config" / "tables" / f"{TABLE}.yaml").read_text())
    with open(slurm_run["work"] / "results" / "tables" / f"{TABLE}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["row"] for row in rows] == [row["label"] for row in spec["rows"]]
    for row, spec_row in zip(rows, spec["rows"]):
        assert row["experiment"] == spec_row["experiment"]
        assert 0.0 <= float(row["top1_lo"]) <= float(row["top1"]) <= float(row["top1_hi"]) <= 100.0
        assert row["top5"] == ""  # 4 classes: top-5 is 100 % by construction, so it is left empty
        assert float(row["gflops"]) > 0.0


def test_every_compute_job_was_a_slurm_job(slurm_run):
    planned_per_rule = {}
    for rule, wildcards in slurm_run["planned"]:
        planned_per_rule.setdefault(rule, set()).add(wildcards)
    assert COMPUTE_RULES <= set(planned_per_rule), "the smoke table no longer exercises every compute rule"

    submitted_per_rule = {}
    for _, log_path in slurm_run["submissions"]:
        submitted_per_rule.setdefault(submitted_rule(log_path), set()).add(log_path.parent)
    for rule in COMPUTE_RULES:
        assert len(submitted_per_rule.get(rule, ())) == len(planned_per_rule[rule]), (
            f"rule {rule}: {len(planned_per_rule[rule])} jobs planned, "
            f"{len(submitted_per_rule.get(rule, ()))} submitted with sbatch")

    # Each submission ran under SLURM: SLURM itself wrote its --output log, and squeue knows the job.
    job_ids = [job_id for job_id, _ in slurm_run["submissions"]]
    assert len(set(job_ids)) == len(job_ids)
    for job_id, log_path in slurm_run["submissions"]:
        assert log_path.is_file(), f"SLURM job {job_id} left no log at {log_path}"
    states = job_states(job_ids)
    signalled_id = slurm_run["signalled"][0]
    assert states.pop(signalled_id) == "FAILED"
    assert set(states.values()) == {"COMPLETED"}, states


def test_sigterm_checkpoints_and_the_retry_resumes(slurm_run):
    work = slurm_run["work"]
    signalled_id, exp = slurm_run["signalled"]
    attempts = [job_id for job_id, log_path in slurm_run["submissions"]
                if submitted_rule(log_path) == "train" and log_path.parent.name == exp]
    assert attempts[0] == signalled_id and len(attempts) == 2, attempts

    log = (work / "results" / "train" / exp / "train.log").read_text()
    checkpoint = f"results/checkpoints/{exp}/last.pt"
    stopped = re.search(rf"received SIGTERM: checkpoint saved to {re.escape(checkpoint)} at epoch (\d+) step (\d+)",
                        log)
    assert stopped, log[-3000:]
    resumed = re.search(rf"resumed from {re.escape(checkpoint)} at epoch (\d+)", log[stopped.end():])
    assert resumed, log[-3000:]
    assert resumed.group(1) == stopped.group(1)
    assert 1 <= int(stopped.group(1)) < EPOCHS

    # The retry ran the remaining epochs only: one metrics row per epoch, none repeated.
    with open(work / "results" / "train" / exp / "metrics.csv", newline="") as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    assert epochs == list(range(1, EPOCHS + 1))
