# What the configuration's run costs, before it runs (docs/cost.md): `snakemake cost` writes results/tables/cost.md
# and .csv. cost_plan reads the plan's work (video counts from the annotation files) in Snakemake's process, from
# params, so a changed plan rewrites it; cost prices it with the configuration's throughput file. Neither trains,
# tests, nor imports torch.
import ctnet.workflow.cost

# Every module of the cost package, then the modules it reads and writes with.
COST_CODE = ["scripts/make_cost.py"] + sorted(
    str(path) for path in Path(ctnet.workflow.cost.__file__).parent.glob("*.py"))
COST_CODE += [module.__file__ for module in (ctnet.workflow.io, ctnet.workflow.report, ctnet.cache)]


localrules:
    cost_plan,
    cost,


rule cost_plan:
    output:
        paths.COST_PLAN,
    params:
        plan=lambda w: ctnet.workflow.cost.cost_plan(PLAN),
    log:
        paths.log("cost_plan", "cost"),
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    run:
        write_json_atomic(output[0], params.plan)
        Path(log[0]).write_text(f"work of {CONFIG_PATH} planned\n")


rule cost:
    input:
        plan=paths.COST_PLAN,
        throughput=lambda w: ctnet.workflow.cost.throughput_path(PLAN),
        code=COST_CODE,
    output:
        md=paths.COST.format(ext="md"),
        csv=paths.COST.format(ext="csv"),
    log:
        paths.log("cost", "cost"),
    benchmark:
        paths.benchmark("cost", "cost"),
    threads: 1
    resources:
        runtime=res("table", "runtime"),
        mem_mb=res("table", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/make_cost.py --plan {input.plan:q} --throughput {input.throughput:q} --csv {output.csv:q}"
        " --md {output.md:q} > {log:q} 2>&1"
