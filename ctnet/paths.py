"""Every file the workflow reads or writes, as one pattern each: the rules use the patterns (their `{wildcards}`
are Snakemake's), the package fills them in with `str.format`. Torch-free, for the Snakefile.

    results/data/<source>/{videos,annotations,frames,lists}/      results/experiments/{,train/,flops/}<name>.yaml
    results/train/<exp>/{final.pt,metrics.csv}   results/checkpoints/<exp>/   results/imported/<exp>/final.pt
      results/scores/<exp>/<protocol>.npz
    results/fused/<ens>.npz   results/flops/<key>_<size>.json   results/tables/{,plans/}<table>.*   results/figures/
    results/logs/<rule>/<job>.log
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
LISTS = DATA + "/lists"
LIST_FILES = {"train": LISTS + "/train.txt", "val": LISTS + "/val.txt", "classes": LISTS + "/classes.txt"}

EXPERIMENT = RESULTS + "/experiments/{exp}.yaml"
TRAIN_EXPERIMENT = RESULTS + "/experiments/train/{exp}.yaml"
FLOPS_EXPERIMENT = RESULTS + "/experiments/flops/{key}.yaml"

TRAIN_DIR = RESULTS + "/train/{exp}"
FINAL_WEIGHTS = TRAIN_DIR + "/final.pt"
METRICS = TRAIN_DIR + "/metrics.csv"
CHECKPOINTS = RESULTS + "/checkpoints/{exp}"
# Weights of the official code (`weights:` of the configuration) converted for ctnet.
IMPORTED_WEIGHTS = RESULTS + "/imported/{exp}/final.pt"

SCORES = RESULTS + "/scores/{exp}/{protocol}.{ext}"
FUSED = RESULTS + "/fused/{ens}.{ext}"
FLOPS = RESULTS + "/flops/{key}_{size}.json"

TABLE_PLAN = RESULTS + "/tables/plans/{table}.json"
TABLE = RESULTS + "/tables/{table}.{ext}"
TABLE_FIGURE = RESULTS + "/figures/table{table}.png"
CLAIMS = RESULTS + "/tables/claims.{ext}"
FIG5 = RESULTS + "/figures/fig5_accuracy_vs_gflops.png"

LOG = RESULTS + "/logs/{rule}/{job}.log"


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


def pattern(template, **fixed):
    """`template` with some fields filled in and the rest left as `{wildcards}`, e.g. SCORES with ext='npz'."""
    return template.format_map(_KeepMissing(fixed))


class _KeepMissing(dict):
    def __missing__(self, key):
        return "{" + key + "}"
