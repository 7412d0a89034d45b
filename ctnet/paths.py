"""Every file the workflow reads or writes, as one pattern each: the rules use the patterns (their `{wildcards}`
are Snakemake's), the package fills them in with `str.format`. Torch-free, for the Snakefile.

    results/data/<source>/{videos,annotations,frames,lists}/      results/experiments/{,flops/}<name>.yaml
    results/experiments/train/<run>.yaml   results/train/<run>/{final.pt,metrics.csv}   results/checkpoints/<run>/
    results/imported/<exp>/final.pt   results/scores/<run>/<protocol>.npz   results/fused/<run of ens>.npz   results/flops/<key>_<size>.json   results/tables/{,plans/}<table>.*   results/figures/
    results/logs/<rule>/<job>.log   results/benchmarks/<rule>/<job>.tsv
"""

RESULTS = "results"

DATA = RESULTS + "/data/{source}"
VIDEOS = DATA + "/videos"
ANNOTATIONS = DATA + "/annotations"
FRAMES = DATA + "/frames"
# One manifest and one failures list per extraction shard; `shard` is `shard_suffix(index, count)`.
MANIFEST = FRAMES + "/manifest{shard}.csv"
MANIFEST_NAME = "manifest{shard}.csv"
FAILURES_NAME = "failures{shard}.csv"
# In every extracted video's frame folder: what made the frames (ctnet.data.extract.frames_stamp). Hidden and not
# a .jpg, so nothing that counts or reads frames sees it.
FRAMES_STAMP_NAME = ".stamp.json"
LISTS = DATA + "/lists"
LIST_FILES = {"train": LISTS + "/train.txt", "val": LISTS + "/val.txt", "classes": LISTS + "/classes.txt"}

# A run is one training (and its tests) of an experiment: `<exp>`, or `<exp>/seed<k>` when the configuration
# lists several `seeds:` (`run_name`). Ensembles fuse the members' runs of one seed: `<ens>` or `<ens>/seed<k>`.
EXPERIMENT = RESULTS + "/experiments/{exp}.yaml"
TRAIN_EXPERIMENT = RESULTS + "/experiments/train/{run}.yaml"
FLOPS_EXPERIMENT = RESULTS + "/experiments/flops/{key}.yaml"

TRAIN_DIR = RESULTS + "/train/{run}"
FINAL_WEIGHTS = TRAIN_DIR + "/final.pt"
METRICS = TRAIN_DIR + "/metrics.csv"
CHECKPOINTS = RESULTS + "/checkpoints/{run}"
# Weights of the official code (`weights:` of the configuration) converted for ctnet.
IMPORTED_WEIGHTS = RESULTS + "/imported/{exp}/final.pt"

SCORES = RESULTS + "/scores/{run}/{protocol}.{ext}"
FUSED = RESULTS + "/fused/{run}.{ext}"
FLOPS = RESULTS + "/flops/{key}_{size}.json"

TABLE_PLAN = RESULTS + "/tables/plans/{table}.json"
TABLE = RESULTS + "/tables/{table}.{ext}"
TABLE_FIGURE = RESULTS + "/figures/table{table}.png"
CLAIMS = RESULTS + "/tables/claims.{ext}"
FIG5 = RESULTS + "/figures/fig5_accuracy_vs_gflops.png"

LOG = RESULTS + "/logs/{rule}/{job}.log"
# Snakemake's measurement of each job that runs a program (`benchmark:`; not of the `run:` rules, which run in
# Snakemake's own process): wall seconds and peak memory (max_rss, MB), which
# benchmarks/bench_run.py sets beside what the configuration's `resources:` ask.
BENCHMARK = RESULTS + "/benchmarks/{rule}/{job}.tsv"


# What a `{run}` wildcard matches: an experiment or ensemble name, with `/seed<k>` for one of several seeds.
RUN_PATTERN = r"[A-Za-z0-9_]+(/seed[0-9]+)?"


def run_name(name, seed=None):
    """The run of experiment (or ensemble) `name` with `seed`; None for the single run of a one-seed config."""
    return name if seed is None else f"{name}/seed{seed}"


def parse_run(run):
    """(name, seed or None) of a `run_name`."""
    name, _, seed = run.partition("/seed")
    return name, (int(seed) if seed else None)


def shard_suffix(index, count):
    """'' for a single shard, '.shard-I-of-N' otherwise: file names that concurrent shards never share."""
    return "" if count == 1 else f".shard-{index}-of-{count}"


def parse_shard_suffix(suffix):
    """(index, count) of a `shard_suffix`."""
    if not suffix:
        return 0, 1
    index, count = suffix[len(".shard-"):].split("-of-")
    return int(index), int(count)


def log(rule, job):
    """The log file of one job of `rule`; `job` is a name or a pattern of wildcards such as '{exp}'."""
    return LOG.format(rule=rule, job=job)


def benchmark(rule, job):
    """The benchmark file of one job of `rule`, named as its log (`log`)."""
    return BENCHMARK.format(rule=rule, job=job)


def pattern(template, **fixed):
    """`template` with some fields filled in and the rest left as `{wildcards}`, e.g. SCORES with ext='npz'."""
    return template.format_map(_KeepMissing(fixed))


class _KeepMissing(dict):
    def __missing__(self, key):
        return "{" + key + "}"


# Counts of count_flops.py kept across runs, one file per digest of what a count depends on (ctnet.flops): outside
# the rule's outputs, which Snakemake deletes before the job runs.
FLOPS_CACHE = RESULTS + "/cache/flops"


# What the configuration's run costs (`snakemake cost`, ctnet.workflow.cost): the plan's work as plain data, and
# the table priced with the configuration's throughput file.
COST_PLAN = RESULTS + "/cost/plan.json"
COST = RESULTS + "/tables/cost.{ext}"
# Video counts of the annotation files, kept while the files are unchanged: planning reads them for the training
# jobs' time limits, and parsing Kinetics-400's CSVs takes seconds.
VIDEO_COUNTS = RESULTS + "/cache/videos.json"
