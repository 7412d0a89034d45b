# Configuration, the plan of the run, and the helpers every rule uses. File names come from ctnet.paths.
import os
import shlex
import sys
from pathlib import Path

from snakemake.utils import min_version, update_config

import ctnet.cache
import ctnet.workflow.bootstrap
import ctnet.workflow.claims
import ctnet.workflow.findings
import ctnet.workflow.plots
import ctnet.workflow.report
import ctnet.workflow.results
import ctnet.workflow.stats
import ctnet.workflow.tables
from ctnet import paths
from ctnet.atomic import write_json_atomic
from ctnet.workflow import Plan
from ctnet.workflow.io import read_yaml, write_yaml_atomic

min_version("9.0")

ROOT = Path(workflow.basedir).parent
DEFAULT_CONFIG = "config/config.yaml"

# The default configuration applies only when no --configfile is given, so that config/smoke.yaml and
# config/paper.yaml are complete on their own rather than merged over the default (--config still overrides).
if not workflow.overwrite_configfiles:
    defaults = read_yaml(ROOT / DEFAULT_CONFIG)
    update_config(defaults, config)
    config.clear()
    config.update(defaults)
CONFIG_PATH = str(workflow.overwrite_configfiles[-1]) if workflow.overwrite_configfiles else DEFAULT_CONFIG

PLAN = Plan(config, root=ROOT, config_path=CONFIG_PATH)

# The rules run `python scripts/...`: the interpreter that runs this workflow, whose environment has ctnet, comes
# first on the jobs' PATH (local jobs and sbatch inherit it), so that a shell which has not activated .venv/ does
# not run the system's python. A rule's conda environment (--software-deployment-method conda) is activated in the
# job's shell and so comes before it.
envvars:
    "PATH",


# (Assigned apart: `snakemake --lint` misreads two os.environ[...] on one line.)
JOB_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
os.environ["PATH"] = JOB_PATH

report: "../report/workflow.rst"

wildcard_constraints:
    run=paths.RUN_PATTERN,
    exp=r"[A-Za-z0-9_]+",
    protocol=r"[A-Za-z0-9_]+",
    key=r"[A-Za-z0-9_]+",
    table="|".join(PLAN.specs),  # never claims.md, which rule claims writes
    source=r"[A-Za-z0-9_]+",
    size=r"\d+",


def res(rule, key):
    """One resource of `rule` from the configuration's `resources:` (falling back to its `default:`)."""
    return PLAN.resources(rule).get(key, 0 if key == "gpu" else 1)
