"""The SLURM profile without a scheduler (issue 7): the README's site settings reach every job through
`snakemake --profile slurm`, and the paper configuration's GPU jobs are submitted asking for the GPUs, CPUs,
memory and time limit that config/paper.yaml gives them, as one task that torchrun fills with N processes.

The sbatch lines are built by the SLURM plugin's own functions from the resources of a dry run of the paper
configuration (over empty stand-ins for its datasets), so no job is submitted and no GPU is needed.
"""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from snakemake_executor_plugin_slurm.submit_string import get_submit_command
from snakemake_executor_plugin_slurm.utils import set_gres_string

from ctnet.workflow import Plan

REPO = Path(__file__).resolve().parents[1]
GPU_RULES = ("train", "test")


def readme_site_example():
    """The worked example of site settings in the README's cluster section (the first yaml block there)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("<!-- cluster:begin -->")[1].split("<!-- cluster:end -->")[0]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block, "README.md: the cluster section lost its ```yaml worked example of site settings"
    return yaml.safe_load(block.group(1))


def skip_outputs(folder, names):
    """What a copy of the repository leaves out: outputs, data, environments and caches."""
    skipped = {"__pycache__", ".pytest_cache"} | {name for name in names if name.endswith(".egg-info")}
    if Path(folder) == REPO:
        skipped |= {".git", ".venv", ".snakemake", "results", "data", "build"}
    return skipped & set(names)


def make_paper_stand_ins(work):
    """Empty folders and files where config/paper.yaml expects the datasets and ImageNet weights."""
    config = yaml.safe_load((work / "config" / "paper.yaml").read_text())
    for source in config["sources"].values():
        for key in ("annotations", "videos", "frames"):
            if key in source:
                (work / source[key]).mkdir(parents=True, exist_ok=True)
    for weights in config.get("imagenet_weights", {}).values():
        (work / weights).parent.mkdir(parents=True, exist_ok=True)
        (work / weights).touch()
    return config


def parse_dry_run(text):
    """Jobs of a dry run's log: dicts with rule, wildcards, resources (name -> str) and shell command."""
    jobs = []
    for block in re.split(r"\n(?=rule \w+:)", text):
        head = re.match(r"rule (\w+):", block)
        if not head:
            continue
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.MULTILINE)
        resources = re.search(r"^\s+resources: (.*)$", block, re.MULTILINE)
        shell = re.search(r"^Shell command: (.*)$", block, re.MULTILINE)
        jobs.append({
            "rule": head.group(1),
            "wildcards": wildcards.group(1) if wildcards else "",
            "resources": dict(item.split("=", 1) for item in resources.group(1).split(", ")) if resources else {},
            "shell": shell.group(1) if shell else "",
        })
    return jobs


class _Resources(dict):
    """What the plugin reads from `job.resources`: `.get(name)` and attribute access."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def sbatch_call(job, site):
    """The sbatch command line the SLURM plugin builds for a dry-run job (minus the --wrap'ed command)."""
    numeric = {"mem_mb", "runtime", "gpu", "cpus_per_task"}
    resources = _Resources({name: int(value) if name in numeric else value
                            for name, value in job["resources"].items()})
    plugin_job = SimpleNamespace(resources=resources, threads=resources.get("cpus_per_task", 1))
    # The executor adds account and partition as below once it has checked them against the cluster.
    params = {"run_uuid": "RUN", "slurm_logfile": "LOG", "comment_str": f"rule_{job['rule']}", "workdir": "",
              "account": f" -A {shlex.quote(resources['slurm_account'])}",
              "partition": f" -p {shlex.quote(resources['slurm_partition'])}"}
    settings = SimpleNamespace(requeue=False, no_requeue=False, qos=site.get("slurm-qos"), reservation=None)
    return get_submit_command(plugin_job, params, settings=settings) + set_gres_string(plugin_job)


@pytest.fixture(scope="module")
def paper_dry_run(tmp_path_factory):
    """A dry run of `snakemake --profile slurm all_tables` on the paper configuration, site example applied."""
    work = tmp_path_factory.mktemp("paper_profile")
    shutil.copytree(REPO, work, dirs_exist_ok=True, ignore=skip_outputs)
    config = make_paper_stand_ins(work)
    site = readme_site_example()
    profile = yaml.safe_load((work / "slurm" / "config.yaml").read_text())
    assert not set(site) & set(profile), "the README's site keys are already set in slurm/config.yaml"
    (work / "slurm" / "config.yaml").write_text(yaml.safe_dump({**profile, **site}, sort_keys=False))
    run = subprocess.run([sys.executable, "-m", "snakemake", "--profile", "slurm", "all_tables", "--dry-run",
                          "--configfile", "config/paper.yaml"], cwd=work, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return {"output": run.stdout + run.stderr, "jobs": parse_dry_run(run.stdout), "config": config, "site": site,
            "plan": Plan(config, root=work, config_path="config/paper.yaml")}


def test_profile_and_workflow_profile_are_both_used(paper_dry_run):
    assert re.search(r"Using profiles? slurm and workflow specific profile \S*workflow/profiles/default",
                     paper_dry_run["output"])


def test_workflow_profile_leaves_the_site_settings_alone():
    # Snakemake replaces a --profile's `default-resources` / `set-resources` wholesale with the workflow
    # profile's: setting either there would drop the site's partition, account or GPU model.
    workflow_profile = yaml.safe_load((REPO / "workflow" / "profiles" / "default" / "config.yaml").read_text())
    assert not {"default-resources", "set-resources", "executor"} & set(workflow_profile)


def test_site_settings_reach_every_job(paper_dry_run):
    site = paper_dry_run["site"]
    jobs = paper_dry_run["jobs"]
    assert jobs
    for job in jobs:
        for name, value in site["default-resources"].items():
            assert job["resources"].get(name) == str(value), (job["rule"], job["wildcards"], name)
        per_rule = site.get("set-resources", {}).get(job["rule"], {})
        for name, value in per_rule.items():
            assert job["resources"].get(name) == str(value), (job["rule"], job["wildcards"], name)
        if job["rule"] not in GPU_RULES:
            assert "gpu_model" not in job["resources"] and int(job["resources"].get("gpu", 0)) == 0, job["rule"]


@pytest.mark.parametrize("rule", GPU_RULES)
def test_paper_gpu_jobs_request_what_the_config_says(paper_dry_run, rule):
    wanted = paper_dry_run["config"]["resources"][rule]
    site = paper_dry_run["site"]
    gpu_model = site["set-resources"][rule]["gpu_model"]
    jobs = [job for job in paper_dry_run["jobs"] if job["rule"] == rule]
    assert jobs
    for job in jobs:
        call = sbatch_call(job, site)
        assert f"--gpus={gpu_model}:{wanted['gpu']}" in call.split(), call
        assert f"--cpus-per-task={wanted['cpus_per_task']}" in call.split(), call
        assert f" --mem {wanted['mem_mb']} " in call, call
        # Training asks for the cost estimate's time limit (ctnet.workflow.Plan.train_runtime, docs/cost.md).
        exp = re.search(r"run=(\w+)", job["wildcards"]).group(1) if rule == "train" else None
        runtime = paper_dry_run["plan"].train_runtime(exp) if rule == "train" else wanted["runtime"]
        assert f" -t {runtime} " in call, call
        assert f" -p {site['default-resources']['slurm_partition']} " in call, call
        assert f" -A {site['default-resources']['slurm_account']} " in call, call
        assert f"--qos={site['slurm-qos']}" in call.split(), call
        # One SLURM task holds all the job's GPUs: scripts/train.py starts torchrun's N processes inside it.
        assert "--ntasks" not in call and "--ntasks-per-gpu" not in call, call
        if rule == "train":
            assert f"--gpus {wanted['gpu']}" in job["shell"], job["shell"]


def test_frame_extraction_is_sharded_not_one_job_per_video(paper_dry_run):
    config = paper_dry_run["config"]
    per_source = {}
    for job in paper_dry_run["jobs"]:
        if job["rule"] == "extract_frames":
            source = re.search(r"source=(\w+)", job["wildcards"]).group(1)
            per_source[source] = per_source.get(source, 0) + 1
    expected = {name: spec["shards"] for name, spec in config["sources"].items() if "videos" in spec}
    assert per_source == expected
    assert sum(per_source.values()) <= 1000
