# Testing (one job per run x protocol) and score fusion (one job per ensemble and seed).


rule test:
    input:
        experiment=lambda w: paths.EXPERIMENT.format(exp=paths.parse_run(w.run)[0]),
        checkpoint=lambda w: PLAN.run_weights(w.run),
        # Released weights (`weights:`) have no training upstream to build the lists first.
        lists=lambda w: PLAN.data_lists(paths.parse_run(w.run)[0]),
    output:
        scores=paths.pattern(paths.SCORES, ext="npz"),
        summary=paths.pattern(paths.SCORES, ext="json"),
    log:
        paths.log("test", "{run}/{protocol}"),
    benchmark:
        paths.benchmark("test", "{run}/{protocol}"),
    threads: res("test", "threads")
    priority: 1
    resources:
        runtime=res("test", "runtime"),
        mem_mb=res("test", "mem_mb"),
        gpu=res("test", "gpu"),
        cpus_per_task=res("test", "cpus_per_task"),
    retries: 0 if workflow.remote_exec else res("test", "retries")
    conda:
        "../../environment.yml"
    shell:
        "OMP_NUM_THREADS={threads} python scripts/test.py --experiment {input.experiment:q}"
        " --checkpoint {input.checkpoint:q} --protocol {wildcards.protocol} --out {output.scores:q} > {log:q} 2>&1"


rule fuse:
    input:
        lambda w: PLAN.ensemble_members(w.run),
    output:
        scores=paths.pattern(paths.FUSED, ext="npz"),
        summary=paths.pattern(paths.FUSED, ext="json"),
    params:
        weights=lambda w: " ".join(str(weight) for weight in PLAN.ensemble_weights(w.run)),
    log:
        paths.log("fuse", "{run}"),
    benchmark:
        paths.benchmark("fuse", "{run}"),
    threads: res("fuse", "threads")
    resources:
        runtime=res("fuse", "runtime"),
        mem_mb=res("fuse", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/fuse.py --scores {input:q} --weights {params.weights} --out {output.scores:q} > {log:q} 2>&1"
