# Training: one job per experiment. Checkpoints live in results/checkpoints/<exp>/, outside every declared
# output, so a failed or killed attempt (Snakemake deletes its outputs) leaves them for the retry, which
# resumes from the last one. Final weights are protected: rerunning a finished training needs a deliberate
# `chmod u+w` or `rm`.


rule train:
    input:
        experiment="results/experiments/train/{exp}.yaml",
        lists=lambda w: PLAN.experiment_inputs(w.exp),
    output:
        final=protected("results/train/{exp}/final.pt"),
        metrics="results/train/{exp}/metrics.csv",
    params:
        out="results/train/{exp}",
        ckpt_dir="results/checkpoints/{exp}",
    log:
        "results/logs/train/{exp}.log",
    threads: res("train", "threads")
    priority: 1
    resources:
        runtime=res("train", "runtime"),
        mem_mb=res("train", "mem_mb"),
        gpu=res("train", "gpu"),
        cpus_per_task=res("train", "cpus_per_task"),
    retries: res("train", "retries")
    conda:
        "../../environment.yml"
    shell:
        "OMP_NUM_THREADS={threads} python scripts/train.py --experiment {input.experiment} --out {params.out}"
        " --ckpt-dir {params.ckpt_dir} --gpus {resources.gpu} >> {log} 2>&1"
