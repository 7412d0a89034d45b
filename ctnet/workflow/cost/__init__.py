"""What a configuration's run costs before it runs: device hours of every training and test, frame storage and
SLURM jobs, per experiment and per paper table (`snakemake cost`: results/tables/cost.md and .csv; docs/cost.md).

Torch-free: the Snakefile imports it, and `Plan.train_runtime` takes the training jobs' time limits from it.

One module per job, lowest first: `throughput` (the throughput file: where a configuration names it, how to
measure it, reading and checking it), `jobs` (SLURM jobs per rule, the resources of one job), `work` (the plan's
trainings, tests and frame folders as plain data, and the throughput rows pricing reads), `price` (hours, time
limits and planned micro-batches) and `table` (the Markdown and CSV table).
"""
from ctnet.workflow.cost.jobs import CLUSTER_RULES, cluster_jobs, job_resources
from ctnet.workflow.cost.price import (RUNTIME_FLOOR_MINUTES, RUNTIME_MARGIN, job_rate, planned_micro_batch, price,
                                       price_test, price_training, runtime_minutes, training_time_limit)
from ctnet.workflow.cost.table import (CSV_COLUMNS, csv_rows, hours_unit, labelled, loader_section, number,
                                       render_markdown, write_cost)
from ctnet.workflow.cost.throughput import Throughput, device_of, measure_command, throughput_path
from ctnet.workflow.cost.work import (COMPUTE_FREE_KEYS, Work, cost_plan, model_key, synthetic_split, throughput_needs,
                                      trainings_of, video_counts_problem, work_of)

__all__ = ["CLUSTER_RULES", "COMPUTE_FREE_KEYS", "CSV_COLUMNS", "RUNTIME_FLOOR_MINUTES", "RUNTIME_MARGIN",
           "Throughput", "Work", "cluster_jobs", "cost_plan", "csv_rows", "device_of", "hours_unit", "job_rate",
           "job_resources", "labelled", "loader_section", "measure_command", "model_key", "number",
           "planned_micro_batch", "price", "price_test", "price_training", "render_markdown", "runtime_minutes",
           "synthetic_split", "throughput_needs", "throughput_path", "training_time_limit", "trainings_of",
           "video_counts_problem", "work_of", "write_cost"]
