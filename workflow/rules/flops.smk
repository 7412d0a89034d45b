# FLOPs at the paper's convention whatever the run's scale: the unscaled model spec, the paper dataset's class
# count and the protocol's paper crop size (256, or 224), one view. One job per distinct model and size.


rule count_flops:
    input:
        "results/experiments/flops/{key}.yaml",
    output:
        "results/flops/{key}_{size}.json",
    params:
        num_classes=lambda w: PLAN.paper_num_classes(w.key),
    log:
        "results/logs/count_flops/{key}_{size}.log",
    threads: res("count_flops", "threads")
    resources:
        runtime=res("count_flops", "runtime"),
        mem_mb=res("count_flops", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "OMP_NUM_THREADS={threads} python scripts/count_flops.py --experiment {input:q}"
        " --num-classes {params.num_classes} --size {wildcards.size} --views 1 --out {output:q} > {log:q} 2>&1"
