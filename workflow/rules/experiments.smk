# Resolved experiment files (docs/experiment.md), written from params: Snakemake's params trigger rewrites a
# file only when its resolved content changes, so editing one experiment or a table spec retrains nothing else.
# Training reads a copy without `protocols:`, so that a change of test protocols retests but never retrains.


rule experiment:
    output:
        "results/experiments/{exp}.yaml",
    params:
        spec=lambda w: PLAN.resolve(w.exp),
    log:
        "results/logs/experiment/{exp}.log",
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    run:
        write_yaml_atomic(output[0], params.spec)
        Path(log[0]).write_text(f"resolved {wildcards.exp} with {CONFIG_SOURCE}\n")


rule experiment_train:
    output:
        "results/experiments/train/{exp}.yaml",
    params:
        spec=lambda w: PLAN.resolve_train(w.exp),
    log:
        "results/logs/experiment_train/{exp}.log",
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    run:
        write_yaml_atomic(output[0], params.spec)
        Path(log[0]).write_text(f"resolved {wildcards.exp} for training with {CONFIG_SOURCE}\n")


rule flops_experiment:
    output:
        "results/experiments/flops/{key}.yaml",
    params:
        spec=lambda w: PLAN.flops_experiment(w.key),
    log:
        "results/logs/flops_experiment/{key}.log",
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    run:
        write_yaml_atomic(output[0], params.spec)
        Path(log[0]).write_text(f"paper-scale model of {wildcards.key}\n")
