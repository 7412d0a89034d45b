"""A plan's SLURM jobs per rule, and the GPUs, CPUs and threads of one training job and one test job."""


# Rules whose jobs run as SLURM jobs (the others are localrules of the Snakefile's own process).
CLUSTER_RULES = ("make_synthetic", "extract_frames", "build_lists", "import_weights", "train", "test", "fuse",
                 "count_flops")


def cluster_jobs(plan, trainings, tests):
    """SLURM jobs per rule, as the plan creates them: one per extraction shard, source list, training run, test
    run, fusion run and imported checkpoint, and one job for every FLOPs count (localrules are left out)."""
    sources = {plan.resolver.source_of(exp) for exp in trainings}
    sources |= {plan.resolver.source_of(exp) for exp, _ in tests}
    owners = {plan.data.frames_source(source) for source in sources}
    extracted = [owner for owner in owners if plan.data.extracted(owner)]
    jobs = {
        "make_synthetic": sum(plan.data.source(owner)["kind"] == "synthetic" for owner in extracted),
        "extract_frames": sum(len(plan.data.shard_manifests(owner)) for owner in extracted),
        "build_lists": len(sources),
        "import_weights": len({exp for exp, _ in tests if exp in plan.given_weights}),
        "train": sum(len(plan.runs(exp)) for exp in trainings),
        "test": sum(len(plan.runs(exp)) for exp, _ in tests),
        "fuse": sum(len(plan.ensemble_runs(ens)) for ens in plan.ensembles()),
        "count_flops": int(bool(plan.flops_counts())),
    }
    return {rule: jobs[rule] for rule in CLUSTER_RULES}, sorted(owners)


def job_resources(plan):
    """GPUs, CPUs and threads of one training job and one test job (`resources:` of the configuration)."""
    resources = {}
    for rule in ("train", "test"):
        res = plan.resources(rule)
        threads = res.get("threads", 1)
        resources[rule] = {"gpus": res.get("gpu", 0), "cpus": res.get("cpus_per_task", threads), "threads": threads}
    # what the micro-batch of a training is planned with (ctnet.workflow.gpu_plan)
    train = plan.resources("train")
    resources["train"].update(micro_batch=train.get("micro_batch"), gpu_memory_gb=train.get("gpu_memory_gb"))
    return resources
