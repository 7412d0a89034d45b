# Testing (one job per experiment x protocol) and score fusion (one job per ensemble).


rule test:
    input:
        experiment="results/experiments/{exp}.yaml",
        checkpoint=lambda w: PLAN.weights(w.exp),
    output:
        scores="results/scores/{exp}/{protocol}.npz",
        summary="results/scores/{exp}/{protocol}.json",
    log:
        "results/logs/test/{exp}/{protocol}.log",
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
        lambda w: PLAN.ensemble_members(w.ens),
    output:
        scores="results/fused/{ens}.npz",
        summary="results/fused/{ens}.json",
    params:
        weights=lambda w: " ".join(str(weight) for weight in PLAN.ensemble_weights(w.ens)),
    log:
        "results/logs/fuse/{ens}.log",
    threads: res("fuse", "threads")
    resources:
        runtime=res("fuse", "runtime"),
        mem_mb=res("fuse", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/fuse.py --scores {input:q} --weights {params.weights} --out {output.scores:q} > {log:q} 2>&1"
