# Data: make (synthetic) or locate the videos, extract frames in a fixed number of shards, build the lists.
# No rule has one job per video: a shard job finds its videos itself (every N-th, starting at I).
# Data, training and testing have priority 1: the critical path runs first, FLOPs counts fill the gaps.


rule make_synthetic:
    output:
        videos=directory(paths.VIDEOS),
        annotations=directory(paths.ANNOTATIONS),
    params:
        out=paths.DATA,
        options=lambda w: PLAN.data.generation_options(w.source),
    log:
        paths.log("make_synthetic", "{source}"),
    benchmark:
        paths.benchmark("make_synthetic", "{source}"),
    threads: res("make_synthetic", "threads")
    priority: 1
    resources:
        runtime=res("make_synthetic", "runtime"),
        mem_mb=res("make_synthetic", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/make_synthetic.py --out {params.out:q} {params.options} > {log:q} 2>&1"


rule extract_frames:
    input:
        videos=lambda w: PLAN.downloaded(PLAN.data.videos(w.source), workflow.dryrun),
    output:
        manifest=paths.MANIFEST,
    wildcard_constraints:
        shard=r"(\.shard-\d+-of-\d+)?",
    params:
        frames=paths.FRAMES,
        shard=lambda w: PLAN.data.shard_arg(w.shard),
        short_side=lambda w: PLAN.data.short_side(w.source),
        # Only when the source sets it: extract_frames.py owns the default.
        max_failed=lambda w: PLAN.data.extraction_options(w.source),
    log:
        paths.log("extract_frames", "{source}{shard}"),
    benchmark:
        paths.benchmark("extract_frames", "{source}{shard}"),
    # Its decoding processes (--workers): the cores it reserves, so resources.extract_frames.threads sets both.
    threads: res("extract_frames", "threads")
    priority: 1
    resources:
        runtime=res("extract_frames", "runtime"),
        mem_mb=res("extract_frames", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/extract_frames.py --videos {input.videos:q} --out {params.frames:q} --shard {params.shard}"
        " --short-side {params.short_side} --workers {threads} {params.max_failed} > {log:q} 2>&1"


rule build_lists:
    input:
        frames=lambda w: [p for path in PLAN.data.frames_ready(w.source) for p in PLAN.downloaded(path, workflow.dryrun)],
        annotations=lambda w: PLAN.downloaded(PLAN.data.annotations(w.source), workflow.dryrun),
        rows=lambda w: [p for path in PLAN.data.rows_annotations(w.source) for p in PLAN.downloaded(path, workflow.dryrun)],
    output:
        **paths.LIST_FILES,
    params:
        kind=lambda w: PLAN.data.source(w.source)["kind"],
        frames=lambda w: PLAN.data.frames_root(w.source),
        split=lambda w: PLAN.data.split(w.source),
        rows=lambda w, input: "".join(f" --rows-annotations {shlex.quote(path)}" for path in input.rows),
        out=paths.LISTS,
    log:
        paths.log("build_lists", "{source}"),
    benchmark:
        paths.benchmark("build_lists", "{source}"),
    threads: res("build_lists", "threads")
    priority: 1
    resources:
        runtime=res("build_lists", "runtime"),
        mem_mb=res("build_lists", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/build_lists.py --dataset {params.kind} --annotations {input.annotations:q}"
        " --frames {params.frames:q} --out {params.out:q} --split {params.split}"
        "{params.rows} > {log:q} 2>&1"
