# FLOPs at the paper's convention whatever the run's scale: the unscaled model spec, the paper dataset's class
# count and the protocol's paper crop size (256, or 224), one view. One job counts every model the table specs cite:
# a job per model spent most of its time starting (importing torch, fvcore and torchvision). Its cache
# (paths.FLOPS_CACHE, keyed by spec, class count, size and counting code) makes a rerun, which Snakemake starts
# whenever one model's file changes, recount only the models that changed.
import shlex

FLOPS_COUNTS = PLAN.flops_counts()


rule count_flops:
    input:
        sorted({paths.FLOPS_EXPERIMENT.format(key=key) for key, _, _, _ in FLOPS_COUNTS}),
    output:
        [out for _, _, _, out in FLOPS_COUNTS],
    params:
        # The class counts are here, not in the model files: a changed count reruns the job by the params trigger.
        counts=shlex.join(arg for key, classes, size, out in FLOPS_COUNTS
                          for arg in ("--count", paths.FLOPS_EXPERIMENT.format(key=key), str(classes), str(size), out)),
        cache=paths.FLOPS_CACHE,
    log:
        paths.log("count_flops", "count_flops"),
    benchmark:
        paths.benchmark("count_flops", "count_flops"),
    threads: res("count_flops", "threads")
    resources:
        runtime=res("count_flops", "runtime"),
        mem_mb=res("count_flops", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "OMP_NUM_THREADS={threads} python scripts/count_flops.py {params.counts} --views 1 --cache {params.cache:q}"
        " > {log:q} 2>&1"
