"""The statistics behind the table cells and the claims page (ctnet.workflow.stats): coverage and false-verdict
rate checked by simulation with known training and video noise, the exact methods against known values, Holm's
step-down, and the modules of ctnet.workflow free of import cycles."""

import ast
from pathlib import Path

import numpy as np
import pytest

from ctnet.workflow import stats

ROOT = Path(__file__).resolve().parents[1]


def simulate(draws, seeds, accuracies, seed_sd, video_sd, videos=80, rng_seed=0):
    """Per-video 0/1 hits (percent) of two recipes: each video's chance of being right is the recipe's accuracy
    plus the video's own effect (drawn once: the validation set every seed shares) plus the training seed's
    effect (between-seed SD `seed_sd`), clipped to [0, 1]. Returns the recipes' true accuracies (the expectation
    over videos and seeds, by a large draw) and a generator of (hits of recipe 1, hits of recipe 2), S x N each."""
    rng = np.random.default_rng(rng_seed)
    many = 400_000
    truth = [100 * np.clip(p + rng.normal(0, video_sd, many) + rng.normal(0, seed_sd, many), 0, 1).mean()
             for p in accuracies]

    def draw():
        for _ in range(draws):
            yield [100.0 * (rng.random((seeds, videos)) < np.clip(
                p + rng.normal(0, video_sd, videos)[None, :] + rng.normal(0, seed_sd, (seeds, 1)), 0, 1))
                for p in accuracies]
    return truth, draw()


def coverage_and_false_verdicts(draws=1500, seeds=3, seed_sd=0.12, video_sd=0.15, accuracy=0.6):
    """Share of draws whose 95 % interval holds the true difference and the true accuracy, and share of draws
    that give two recipes of equal true accuracy a verdict (p < 0.05 either way)."""
    truth, samples = simulate(draws, seeds, (accuracy, accuracy), seed_sd, video_sd)
    covered_difference = covered_cell = false = 0
    for first, second in samples:
        difference = stats.seed_interval([first - second])
        cell = stats.seed_interval([first])
        covered_difference += difference["lo"] <= truth[0] - truth[1] <= difference["hi"]
        covered_cell += cell["lo"] <= truth[0] <= cell["hi"]
        false += difference["p"] < stats.ALPHA
    return covered_difference / draws, covered_cell / draws, false / draws


@pytest.mark.parametrize("seed_sd, video_sd", [(0.12, 0.15), (0.19, 0.0), (0.0, 0.2)])
def test_three_seeds_cover_and_do_not_invent_verdicts(seed_sd, video_sd):
    """The issue's case (between-seed SD 12 points, where one seed's interval held the truth 59.5 % of the time),
    the measured one-block row's 19 points, and videos' noise alone: nominal 95 % holds at 3 seeds."""
    difference, cell, false = coverage_and_false_verdicts(seed_sd=seed_sd, video_sd=video_sd)
    assert difference >= 0.93 and cell >= 0.93
    assert false <= 0.05


def test_a_real_difference_is_found_over_seeds():
    """Not conservative to uselessness: 50 points between recipes with 6 points of seed noise are found at 3
    seeds (94 % of draws). The price of 2 degrees of freedom: 30 points are found in 43 % of draws with 6 points
    of seed noise, 27 % with 12."""
    _, samples = simulate(300, 3, (0.9, 0.4), 0.06, 0.15)
    found = np.mean([stats.seed_interval([a - b])["p"] < stats.ALPHA for a, b in samples])
    assert found > 0.85


def test_one_seed_has_the_videos_interval_alone():
    values = np.array([[100.0] * 30 + [0.0] * 50])
    result = stats.seed_interval([values])
    assert result["seeds"] == 1 and result["df"] == 79 and result["point"] == pytest.approx(37.5)
    half = stats.t_quantile(0.975, 79) * values.std(ddof=1) / np.sqrt(80)
    assert (result["lo"], result["hi"]) == pytest.approx((37.5 - half, 37.5 + half))


def test_splits_of_other_videos_average():
    first, second = np.full((3, 40), 100.0), np.zeros((3, 60))
    first[0, :10] = 0
    result = stats.seed_interval([first, second])
    assert result["point"] == pytest.approx((100 - 100 * 10 / 120) / 2) and result["videos"] == 100


def test_t_distribution_against_printed_tables():
    for df, quantile in ((1, 12.706), (2, 4.303), (5, 2.571), (30, 2.042), (1000, 1.962)):
        assert stats.t_quantile(0.975, df) == pytest.approx(quantile, abs=1e-3)
    assert stats.t_p_value(4.303, 2) == pytest.approx(0.05, abs=1e-4)


def test_wilson_interval_near_the_edges():
    lo, hi = stats.wilson_interval(80, 80)
    assert hi == 100.0 and 95.0 < lo < 96.0  # 80 of 80: not the bootstrap's [100, 100]
    lo, hi = stats.wilson_interval(0, 80)
    assert lo == pytest.approx(0.0, abs=1e-9) and 4.0 < hi < 5.0
    lo, hi = stats.wilson_interval(40, 80)
    assert (lo, hi) == pytest.approx((39.3, 60.7), abs=0.1)
    # coverage at 97 % over 80 videos, where the percentile bootstrap gave 0.895
    rng = np.random.default_rng(0)
    hits = rng.binomial(80, 0.97, 4000)
    covered = np.mean([lo <= 97 <= hi for lo, hi in (stats.wilson_interval(h, 80) for h in hits)])
    assert covered >= 0.93


def test_exact_mcnemar():
    assert stats.mcnemar_exact(4, 0) == pytest.approx(0.125)  # the four discordant videos, one way
    assert stats.mcnemar_exact(0, 0) == 1.0 and stats.mcnemar_exact(3, 3) == 1.0
    assert stats.mcnemar_exact(10, 2) == pytest.approx(2 * sum(__import__("math").comb(12, k) for k in range(3))
                                                       / 2 ** 12)


def test_holm_step_down():
    assert stats.holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert stats.holm([]) == []


def _workflow_imports():
    """ctnet.workflow module -> the ctnet.workflow modules it imports (at any depth of its code)."""
    folder = ROOT / "ctnet/workflow"
    graph = {}
    for path in folder.glob("*.py"):
        name = path.stem
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "ctnet.workflow":
                    imported.update(alias.name for alias in node.names)
                elif node.module.startswith("ctnet.workflow."):
                    imported.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[2] for alias in node.names
                                if alias.name.startswith("ctnet.workflow."))
        graph[name] = {module for module in imported if (folder / f"{module}.py").is_file()} - {name}
    return graph


def test_no_import_cycle_among_workflow_modules():
    """Issue 24: claims and tables imported each other; config imported claims. Every import, at module level
    or inside a function, counts. (__init__ re-exports Plan and is imported by no module here.)"""
    graph = _workflow_imports()
    graph.pop("__init__")
    state = {}

    def visit(module, trail):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", "import cycle: " + " -> ".join(trail + [module])
        state[module] = "open"
        for child in sorted(graph.get(module, ())):
            visit(child, trail + [module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])
    assert "claims" not in graph["config"] and "tables" not in graph["claims"]
