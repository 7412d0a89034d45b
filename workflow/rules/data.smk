# Data: make (synthetic) or locate the videos, extract frames in a fixed number of shards, build the lists.
# No rule has one job per video: a shard job finds its videos itself (every N-th, starting at I).
# Data, training and testing have priority 1: the critical path runs first, FLOPs counts fill the gaps.


rule make_synthetic:
    output:
        videos=directory("results/data/{source}/videos"),
        annotations=directory("results/data/{source}/annotations"),
    params:
        out="results/data/{source}",
        gen=lambda w: PLAN.source(w.source)["generate"],
    log:
        "results/logs/make_synthetic/{source}.log",
    threads: res("make_synthetic", "threads")
    priority: 1
    resources:
        runtime=res("make_synthetic", "runtime"),
        mem_mb=res("make_synthetic", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/make_synthetic.py --out {params.out:q} --num-videos {params.gen[num_videos]}"
        " --seed {params.gen[seed]} --size {params.gen[size]} --frames {params.gen[frames]}"
        " --num-classes {params.gen[num_classes]} > {log:q} 2>&1"


rule extract_frames:
    input:
        videos=lambda w: PLAN.videos(w.source),
    output:
        # extract_frames.py names its manifest manifest.csv (one shard) or manifest.shard-I-of-N.csv
        manifest="results/data/{source}/frames/manifest{shard}.csv",
    wildcard_constraints:
        shard=r"(\.shard-\d+-of-\d+)?",
    params:
        frames="results/data/{source}/frames",
        shard=lambda w: PLAN.shard_arg(w.source, w.shard),
        short_side=lambda w: PLAN.source(w.source).get("short_side", 256),
        # Only when the source sets it: extract_frames.py owns the default.
        max_failed=lambda w: PLAN.extraction_options(w.source),
    log:
        "results/logs/extract_frames/{source}{shard}.log",
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
        frames=lambda w: PLAN.frames_ready(w.source),
        annotations=lambda w: PLAN.annotations(w.source),
    output:
        train="results/data/{source}/lists/train.txt",
        val="results/data/{source}/lists/val.txt",
        classes="results/data/{source}/lists/classes.txt",
    params:
        kind=lambda w: PLAN.lists_format(w.source),
        frames=lambda w: PLAN.frames_root(w.source),
        split=lambda w: PLAN.source(w.source).get("split", 1),
        out="results/data/{source}/lists",
    log:
        "results/logs/build_lists/{source}.log",
    threads: res("build_lists", "threads")
    priority: 1
    resources:
        runtime=res("build_lists", "runtime"),
        mem_mb=res("build_lists", "mem_mb"),
    conda:
        "../../environment.yml"
    shell:
        "python scripts/build_lists.py --dataset {params.kind} --annotations {input.annotations:q}"
        " --frames {params.frames:q} --out {params.out:q} --split {params.split} > {log:q} 2>&1"
