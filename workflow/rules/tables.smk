# Tables and figures. Their scripts are inputs of these rules only: editing a table or plotting script (or
# ctnet/workflow/tables.py) reruns tables and figures, never training or testing.

TABLE_CODE = ["scripts/make_table.py"] + [module.__file__ for module in (
    ctnet.workflow.tables, ctnet.workflow.results, ctnet.workflow.findings, ctnet.workflow.stats,
    ctnet.workflow.bootstrap, ctnet.workflow.claims, ctnet.workflow.io, ctnet.workflow.report, ctnet.cache)]
CLAIMS_FILES = [paths.CLAIMS.format(ext=ext) for ext in ("md", "csv")]
PLOT_CODE = [ctnet.workflow.plots.__file__, ctnet.workflow.tables.__file__]
ALL_TABLE_FILES = [path for table in PLAN.tables for path in PLAN.table_paths(table).values()]


localrules:
    experiment,
    experiment_train,
    flops_experiment,
    all_tables,
    table_plan,
    table,
    plot_table,
    fig5,
    claims,


rule all_tables:
    input:
        CLAIMS_FILES,
        ALL_TABLE_FILES,
        list(PLAN.plots().values()),
        [paths.FIG5] if "4" in PLAN.tables else [],
    default_target: True
    log:
        paths.log("all_tables", "all_tables"),
    benchmark:
        paths.benchmark("all_tables", "all_tables"),
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "echo 'Tables: results/tables/*.md and *.csv; figures: results/figures/' | tee {log:q}"


rule table_plan:
    output:
        paths.TABLE_PLAN,
    params:
        plan=lambda w: PLAN.table_plan(w.table),
    log:
        paths.log("table_plan", "{table}"),
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    run:
        write_json_atomic(output[0], params.plan)
        Path(log[0]).write_text(f"table {wildcards.table} planned with {CONFIG_PATH}\n")


rule table:
    input:
        plan=paths.TABLE_PLAN,
        spec=lambda w: PLAN.table_spec_path(w.table),
        results=lambda w: PLAN.table_inputs(w.table),
        code=TABLE_CODE,
    output:
        csv=report(
            paths.pattern(paths.TABLE, ext="csv"),
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "{table}"},
        ),
        md=paths.pattern(paths.TABLE, ext="md"),
    log:
        paths.log("table", "{table}"),
    benchmark:
        paths.benchmark("table", "{table}"),
    threads: res("table", "threads")
    resources:
        runtime=res("table", "runtime"),
        mem_mb=res("table", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/make_table.py --plan {input.plan:q} --csv {output.csv:q} --md {output.md:q} > {log:q} 2>&1"


rule claims:
    input:
        plans=[paths.TABLE_PLAN.format(table=table) for table in PLAN.tables],
        results=sorted({path for table in PLAN.tables for path in PLAN.table_inputs(table)}),
        code=["scripts/make_claims.py", *TABLE_CODE],
    output:
        md=report(paths.CLAIMS.format(ext="md"), caption="../report/claims.rst", category="1. Claims of the paper"),
        csv=paths.CLAIMS.format(ext="csv"),
    log:
        paths.log("claims", "claims"),
    benchmark:
        paths.benchmark("claims", "claims"),
    threads: 1
    resources:
        runtime=res("table", "runtime"),
        mem_mb=res("table", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/make_claims.py --plans {input.plans:q} --csv {output.csv:q} --md {output.md:q} > {log:q} 2>&1"


rule plot_table:
    input:
        csv=paths.pattern(paths.TABLE, ext="csv"),
        code=["scripts/plot_table.py", *PLOT_CODE],
    output:
        report(
            paths.TABLE_FIGURE,
            caption="../report/plot_table.rst",
            category="Figures",
            labels={"figure": "table {table}"},
        ),
    params:
        x=lambda w: PLAN.specs[w.table]["plot"]["x"],
        y=lambda w: PLAN.specs[w.table]["plot"]["y"],
        title=lambda w: PLAN.specs[w.table]["title"],
    log:
        paths.log("plot_table", "{table}"),
    benchmark:
        paths.benchmark("plot_table", "{table}"),
    threads: 1
    resources:
        runtime=res("table", "runtime"),
        mem_mb=res("table", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/plot_table.py --csv {input.csv:q} --x {params.x:q} --y {params.y:q} --title {params.title:q}"
        " --out {output:q} > {log:q} 2>&1"


rule fig5:
    input:
        csv=paths.TABLE.format(table="4", ext="csv"),
        code=["scripts/plot_fig5.py", *PLOT_CODE],
    output:
        report(paths.FIG5, caption="../report/fig5.rst", category="Figures", labels={"figure": "5"}),
    log:
        paths.log("fig5", "fig5"),
    benchmark:
        paths.benchmark("fig5", "fig5"),
    threads: 1
    resources:
        runtime=res("table", "runtime"),
        mem_mb=res("table", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/plot_fig5.py --csv {input.csv:q} --out {output:q} > {log:q} 2>&1"


# One target per table spec (config/tables/<table>.yaml -> rule table<table>): its CSV, its Markdown and, for the
# ablations the paper plots, its figure. A new table is one YAML file.
for table_name in PLAN.specs:

    rule:
        name:
            f"table{table_name}"
        input:
            PLAN.table_target(table_name),
        localrule: True
