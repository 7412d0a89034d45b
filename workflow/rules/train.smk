# Training: one job per run (an experiment, or one seed of it). Checkpoints live in results/checkpoints/<run>/, outside every declared
# output, so a failed or killed attempt (Snakemake deletes its outputs) leaves them for the retry, which
# resumes from the last one. They also keep finished weights safe where protected() cannot (it trusts
# os.access, which says yes to root): a checkpoint of other settings is kept aside, never deleted, and a
# finished one writes final.pt again in seconds (docs/reliability.md).


rule train:
    input:
        experiment=paths.TRAIN_EXPERIMENT,
        lists=lambda w: PLAN.experiment_inputs(w.run, workflow.dryrun),
    output:
        final=paths.FINAL_WEIGHTS,
        metrics=paths.METRICS,
    params:
        out=paths.TRAIN_DIR,
        ckpt_dir=paths.CHECKPOINTS,
        # torchrun starts one process per GPU: each gets its share of the job's CPUs.
        omp_threads=lambda w, threads, resources: max(1, threads // max(1, resources.gpu)),
    log:
        paths.log("train", "{run}"),
    benchmark:
        paths.benchmark("train", "{run}"),
    threads: res("train", "threads")
    priority: 1
    resources:
        runtime=lambda w: PLAN.train_runtime(paths.parse_run(w.run)[0]),
        mem_mb=res("train", "mem_mb"),
        gpu=res("train", "gpu"),
        cpus_per_task=res("train", "cpus_per_task"),
    # Inside a SLURM job a rule's retries would rerun the training in the same allocation (after SIGTERM at
    # the time limit SIGKILL follows); the retry belongs to the Snakemake process that submits a new job.
    retries: 0 if workflow.remote_exec else res("train", "retries")
    conda:
        "../../environment.yml"
    shell:
        "OMP_NUM_THREADS={params.omp_threads} python scripts/train.py --experiment {input.experiment:q} --out {params.out:q}"
        " --ckpt-dir {params.ckpt_dir:q} --gpus {resources.gpu} >> {log:q} 2>&1"


# Released weights instead of a training (`weights:` of the configuration): the official code's checkpoint,
# converted for ctnet; the experiment's test rows read it and no training job exists for it.
rule import_weights:
    input:
        official=lambda w: PLAN.downloaded(PLAN.given_weights[w.exp], workflow.dryrun),
        experiment=paths.EXPERIMENT,
    output:
        paths.IMPORTED_WEIGHTS,
    log:
        paths.log("import_weights", "{exp}"),
    benchmark:
        paths.benchmark("import_weights", "{exp}"),
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/import_official.py {input.official:q} --experiment {input.experiment:q} --out {output:q}"
        " > {log:q} 2>&1"
