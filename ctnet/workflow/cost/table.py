"""The cost table written out: results/tables/cost.md and .csv (docs/cost.md)."""
from ctnet.atomic import write_text_atomic
from ctnet.workflow.report import csv_text, markdown_table


CSV_COLUMNS = ("section", "name", "protocol", "tables", "shared", "runs", "trainings", "tests", "model", "frames",
               "size", "epochs", "videos", "views", "frames_per_video", "micro_batch", "accumulate", "clips_per_s",
               "bound", "figures", "unit",
               "train_hours", "test_hours", "runtime_minutes", "gigabytes", "jobs")


def hours_unit(resources, rule):
    return "GPU-hours" if resources[rule]["gpus"] else "CPU-hours"


def number(value):
    """A figure for the table: thousands separated from 100 on, three significant digits below."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def labelled(value, sources):
    """An hours figure with `(estimate)` when any row behind it is an estimate: never shown as measured."""
    return number(value) + (" (estimate)" if "estimate" in sources else "")


def csv_rows(cost):
    """The cost table as CSV rows (dicts over CSV_COLUMNS)."""
    resources = cost["resources"]
    rows = []
    for entry in cost["trainings"]:
        rows.append({"section": "training", "name": entry["experiment"], "tables": " ".join(entry["tables"]),
                     "runs": entry["runs"], "model": entry["model"], "frames": entry["frames"], "size": entry["size"],
                     "epochs": entry["epochs"], "videos": entry["train_videos"], "micro_batch": entry["micro_batch"],
                     "accumulate": entry["accumulate"], "clips_per_s": entry["clips_per_s"],
                     "bound": entry["bound"], "figures": entry["source"], "unit": hours_unit(resources, "train"),
                     "train_hours": entry["device_hours"], "runtime_minutes": entry["runtime_minutes"]})
    for entry in cost["tests"]:
        rows.append({"section": "test", "name": entry["experiment"], "protocol": entry["protocol"],
                     "tables": " ".join(entry["tables"]), "runs": entry["runs"], "model": entry["model"],
                     "frames": entry["frames"], "size": entry["size"], "videos": entry["val_videos"],
                     "views": entry["views"], "clips_per_s": entry["clips_per_s"], "bound": entry["bound"],
                     "figures": entry["source"], "unit": hours_unit(resources, "test"),
                     "test_hours": entry["device_hours"]})
    for table in cost["tables"]:
        rows.append({"section": "table", "name": table["table"], "shared": " ".join(table["shared"]),
                     "trainings": table["trainings"], "tests": table["tests"], "train_hours": table["train_hours"],
                     "test_hours": table["test_hours"]})
    for entry in cost["storage"]:
        rows.append({"section": "storage", "name": entry["source"], "videos": entry.get("videos"),
                     "frames_per_video": entry.get("frames_per_video"), "figures": entry.get("basis", "given"),
                     "gigabytes": entry["gigabytes"]})
    for rule, count in cost["jobs"].items():
        rows.append({"section": "jobs", "name": rule, "jobs": count})
    totals = cost["totals"]
    rows.append({"section": "total", "name": "all tables", "trainings": len(cost["trainings"]),
                 "tests": len(cost["tests"]),
                 "train_hours": totals["train_hours"], "test_hours": totals["test_hours"],
                 "gigabytes": totals["gigabytes"], "jobs": totals["jobs"]})
    return rows


def loader_section(cost):
    """Lines on whether the training jobs' CPUs keep their GPUs fed: per clip length, the fastest model's
    training clips/s on one GPU against the loader's clips/s per core."""
    train = cost["resources"]["train"]
    if not train["gpus"]:
        return [f"CPU jobs: loading shares the job's {train['threads']} thread(s) with the model (data.workers 0 "
                "loads between steps); the hours above include it."]
    rows = []
    for frames in sorted({entry["frames"] for entry in cost["trainings"]}):
        entries = [entry for entry in cost["trainings"] if entry["frames"] == frames]
        fastest = max(entries, key=lambda entry: entry["device_clips_per_s"])
        needed = fastest["device_clips_per_s"] / fastest["loader_clips_per_s_per_core"]
        rows.append([frames, f"{number(fastest['device_clips_per_s'])} ({fastest['source']})",
                     number(fastest["loader_clips_per_s_per_core"]), f"{needed:.1f}",
                     f"{train['cpus'] / train['gpus']:g}"])
    lines = markdown_table(["frames", "fastest model, training clips/s per GPU", "loader clips/s per core",
                            "cores one GPU needs", "cores per GPU here"], rows)
    loaders = sorted({f"{row['cpu']} ({row['frame_side']} px frames)" for row in cost["loaders"]})
    lines.append(f"\nLoader figures measured on one core of {', '.join(loaders)}. A training whose loader is slower "
                 "than its GPUs shows `loader` under *bound by* below, and its hours are the loader's.")
    return lines


def render_markdown(cost):
    """The cost table in Markdown (results/tables/cost.md)."""
    resources, totals = cost["resources"], cost["totals"]
    train_unit, test_unit = hours_unit(resources, "train"), hours_unit(resources, "test")
    train_sources = {entry["source"] for entry in cost["trainings"]}
    test_sources = {entry["source"] for entry in cost["tests"]}
    seeds = cost["seeds"]
    out = [f"# What {cost['config']} costs", "", cost["description"], "",
           f"Speed: `{cost['throughput']}` ({cost['basis']}). Hours are device hours (GPU-hours: wall time x GPUs "
           "of the job)" + ("; figures marked (estimate) rest on estimated speeds, not measured ones"
                            if "estimate" in train_sources | test_sources else "") +
           ". Video counts are those of the annotation files (or of the synthetic source's `generate:`)" +
           (f"; for {', '.join(cost['videos_from_registry'])}, whose annotation files are not there yet, the "
            "official release's (ctnet/data/registry.py), an estimate" if cost.get("videos_from_registry") else "") +
           ". Every "
           f"job's hours include its start-up (Python, torch, the engine): {cost['startup']['train_seconds']:g} s "
           f"a training, {cost['startup']['test_seconds']:g} s a test, measured on {cost['startup']['cpu']}. How "
           "each figure is computed: docs/cost.md.", "",
           f"One training job: {resources['train']['gpus']} GPU(s), {resources['train']['cpus']} CPU(s); one test "
           f"job: {resources['test']['gpus']} GPU(s), {resources['test']['cpus']} CPU(s); {seeds} seed(s), every "
           "training and test once per seed.", "", "## Totals", "",
           *markdown_table(["", "hours", "jobs"], [
               [f"training ({len(cost['trainings'])} trainings)",
                f"{labelled(totals['train_hours'], train_sources)} {train_unit}", cost["jobs"]["train"]],
               [f"testing ({len(cost['tests'])} tests)", f"{labelled(totals['test_hours'], test_sources)} {test_unit}",
                cost["jobs"]["test"]],
               ["frame storage", f"{number(totals['gigabytes'])} GB", ""],
               ["jobs (every rule)", "", totals["jobs"]]]),
           "", "## Per table", "",
           "Each table as if built alone; a training that several tables need counts once in the totals, and its "
           "table rows name it under *shared*.", ""]
    rows = [[table["table"], table["trainings"], labelled(table["train_hours"], train_sources),
             number(table["shared_hours"]), table["tests"], labelled(table["test_hours"], test_sources),
             ", ".join(table["shared"]) or "-"] for table in cost["tables"]]
    rows.append(["all tables, each once", len(cost["trainings"]), labelled(totals["train_hours"], train_sources), "",
                 len(cost["tests"]), labelled(totals["test_hours"], test_sources), ""])
    out += markdown_table(["table", "trainings", f"training {train_unit}", "of it shared", "tests",
                           f"testing {test_unit}", "shared"], rows)
    out += ["", "## Data loading", "", *loader_section(cost), "", "## Trainings", "",
            "Per GPU: its clips of a step as micro-batch x accumulation steps (docs/cluster.md).", ""]
    rows = [[entry["experiment"], ", ".join(entry["tables"]), entry["model"], entry["frames"], entry["size"],
             f"{entry['epochs']} x {entry['train_videos']:,}", entry["validations"],
             f"{entry['micro_batch']} x {entry['accumulate']}", number(entry["clips_per_s"]), entry["bound"],
             number(entry["device_hours"]), entry["runtime_minutes"], entry["source"]] for entry in cost["trainings"]]
    out += markdown_table(["experiment", "tables", "model", "frames", "crop", "epochs x videos", "validations",
                           "per GPU", "clips/s per job", "bound by", train_unit, "time limit (min)", "speed"], rows)
    rows = [[entry["experiment"], entry["protocol"], ", ".join(entry["tables"]),
             f"{entry['views']} x {entry['val_videos']:,}", number(entry["clips_per_s"]), entry["bound"],
             number(entry["device_hours"]), entry["source"]] for entry in cost["tests"]]
    out += ["", "## Tests", "", *markdown_table(["experiment", "protocol", "tables", "views x videos",
                                                 "clips/s per job", "bound by", test_unit, "speed"], rows)]
    frame = cost["frame_bytes"]
    out += ["", "## Frame storage", "",
            f"JPEG bytes per pixel measured on {frame['frame_side']} px synthetic frames "
            f"({frame['bytes_per_frame']:,} bytes a frame, {frame['cpu']}), times the pixels of a source's frames. "
            "*assumed*: frames per video and aspect from the dataset's typical clip length and frame rate "
            "(docs/cost.md); *given*: frames the dataset ships, which the workflow reads where they are.", ""]
    rows = [[entry["source"], f"{entry['videos']:,}" if "videos" in entry else "-",
             entry.get("frames_per_video") or "-", number(entry["gigabytes"]) if entry["written"] else "-",
             entry.get("basis", "given")] for entry in cost["storage"]]
    out += markdown_table(["source", "videos", "frames per video", "GB", "basis"], rows)
    out += ["", "## Jobs", "",
            "SLURM jobs under `--profile slurm` (localrules, which run in Snakemake's own process, left out).", ""]
    rows = [[rule, f"{count:,}"] for rule, count in cost["jobs"].items()] + [["all", f"{totals['jobs']:,}"]]
    out += markdown_table(["rule", "jobs"], rows)
    return "\n".join(out) + "\n"


def write_cost(cost, csv_path, md_path):
    write_text_atomic(csv_path, csv_text(CSV_COLUMNS, csv_rows(cost)))
    write_text_atomic(md_path, render_markdown(cost))
