# Resolved experiment files (docs/experiment.md), written from params: Snakemake's params trigger rewrites a
# file only when its resolved content changes, so editing one experiment or a table spec retrains nothing else.
# Training reads a copy without `protocols:`, so that a change of test protocols retests but never retrains.


rule experiment:
    output:
        paths.EXPERIMENT,
    params:
        spec=lambda w: PLAN.resolve(w.exp),
    log:
        paths.log("experiment", "{exp}"),
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    run:
        write_yaml_atomic(output[0], params.spec)
        Path(log[0]).write_text(f"resolved {wildcards.exp} with {CONFIG_PATH}\n")


rule experiment_train:
    output:
        paths.TRAIN_EXPERIMENT,
    params:
        spec=lambda w: PLAN.resolve_train(w.run),
    log:
        paths.log("experiment_train", "{run}"),
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    run:
        write_yaml_atomic(output[0], params.spec)
        Path(log[0]).write_text(f"resolved {wildcards.run} for training with {CONFIG_PATH}\n")


rule flops_experiment:
    output:
        paths.FLOPS_EXPERIMENT,
    params:
        spec=lambda w: PLAN.resolver.flops_experiment(w.key),
    log:
        paths.log("flops_experiment", "{key}"),
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    run:
        write_yaml_atomic(output[0], params.spec)
        Path(log[0]).write_text(f"paper-scale model of {wildcards.key}\n")
