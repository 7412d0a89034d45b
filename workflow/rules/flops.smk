# FLOPs at the paper's convention whatever the run's scale: the unscaled model spec, the paper dataset's class
# count and the protocol's paper crop size (256, or 224), one view. One job per distinct model and size.


rule count_flops:
    input:
        paths.FLOPS_EXPERIMENT,
    output:
        paths.FLOPS,
    params:
        num_classes=lambda w: PLAN.resolver.paper_model(w.key)[1],
    log:
        paths.log("count_flops", "{key}_{size}"),
    threads: res("count_flops", "threads")
    resources:
        runtime=res("count_flops", "runtime"),
        mem_mb=res("count_flops", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "OMP_NUM_THREADS={threads} python scripts/count_flops.py --experiment {input:q}"
        " --num-classes {params.num_classes} --size {wildcards.size} --views 1 --out {output:q} > {log:q} 2>&1"
