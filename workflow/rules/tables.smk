# Tables and figures. Their scripts are inputs of these rules only: editing a table or plotting script (or
# ctnet/workflow/tables.py) reruns tables and figures, never training or testing.

TABLE_CODE = ["scripts/make_table.py", ctnet.workflow.tables.__file__, ctnet.workflow.io.__file__]
ALL_TABLE_FILES = [path for table in PLAN.tables for path in PLAN.table_paths(table).values()]
FIG5 = "results/figures/fig5_accuracy_vs_gflops.png"


localrules:
    experiment,
    experiment_train,
    flops_experiment,
    all_tables,
    table_plan,
    table,
    plot_table,
    fig5,
    table2a,
    table2b,
    table2c,
    table2d,
    table2e,
    table2f,
    table2g,
    table2h,
    table3,
    table4,
    table5,
    table6,
    table7,
    table8,


rule all_tables:
    input:
        ALL_TABLE_FILES,
        list(PLAN.plots().values()),
        [FIG5] if "4" in PLAN.tables else [],
    default_target: True
    log:
        "results/logs/all_tables.log",
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
        "results/tables/plans/{table}.json",
    params:
        plan=lambda w: PLAN.table_plan(w.table),
    log:
        "results/logs/table_plan/{table}.log",
    threads: 1
    resources:
        runtime=res("default", "runtime"),
        mem_mb=res("default", "mem_mb"),
    run:
        write_json_atomic(output[0], params.plan)
        Path(log[0]).write_text(f"table {wildcards.table} planned with {CONFIG_SOURCE}\n")


rule table:
    input:
        plan="results/tables/plans/{table}.json",
        spec="config/tables/{table}.yaml",
        results=lambda w: PLAN.table_inputs(w.table),
        code=TABLE_CODE,
    output:
        csv=report(
            "results/tables/{table}.csv",
            caption="../report/table.rst",
            category="Tables",
            labels={"table": "{table}"},
        ),
        md="results/tables/{table}.md",
    log:
        "results/logs/table/{table}.log",
    threads: res("table", "threads")
    resources:
        runtime=res("table", "runtime"),
        mem_mb=res("table", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/make_table.py --plan {input.plan:q} --csv {output.csv:q} --md {output.md:q} > {log:q} 2>&1"


rule plot_table:
    input:
        csv="results/tables/{table}.csv",
        code=["scripts/plot_table.py", ctnet.workflow.plots.__file__],
    output:
        report(
            "results/figures/table{table}.png",
            caption="../report/plot_table.rst",
            category="Figures",
            labels={"figure": "table {table}"},
        ),
    params:
        x=lambda w: PLAN.specs[w.table]["plot"]["x"],
        y=lambda w: PLAN.specs[w.table]["plot"]["y"],
        title=lambda w: PLAN.specs[w.table]["title"],
    log:
        "results/logs/plot_table/{table}.log",
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
        csv="results/tables/4.csv",
        code=["scripts/plot_fig5.py", ctnet.workflow.plots.__file__],
    output:
        report(FIG5, caption="../report/fig5.rst", category="Figures", labels={"figure": "5"}),
    log:
        "results/logs/fig5.log",
    threads: 1
    resources:
        runtime=res("table", "runtime"),
        mem_mb=res("table", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/plot_fig5.py --csv {input.csv:q} --out {output:q} > {log:q} 2>&1"


# One target per paper table: its CSV, its Markdown and, for the ablations the paper plots, its figure.
rule table2a:
    input:
        PLAN.table_target("2a"),


rule table2b:
    input:
        PLAN.table_target("2b"),


rule table2c:
    input:
        PLAN.table_target("2c"),


rule table2d:
    input:
        PLAN.table_target("2d"),


rule table2e:
    input:
        PLAN.table_target("2e"),


rule table2f:
    input:
        PLAN.table_target("2f"),


rule table2g:
    input:
        PLAN.table_target("2g"),


rule table2h:
    input:
        PLAN.table_target("2h"),


rule table3:
    input:
        PLAN.table_target("3"),


rule table4:
    input:
        PLAN.table_target("4"),


rule table5:
    input:
        PLAN.table_target("5"),


rule table6:
    input:
        PLAN.table_target("6"),


rule table7:
    input:
        PLAN.table_target("7"),


rule table8:
    input:
        PLAN.table_target("8"),
