"""The statistics of the table cells and the claims page: intervals that hold the trainings' noise as well as the
videos', exact intervals and tests where they exist, and Holm's step-down over a page of tests.

- `seed_interval(groups)`: the mean of per-video values (0/1 correctness, or a paired difference of two rows)
  over S training seeds and N videos, with its interval and two-sided p-value against 0. The values are a
  crossed design, seeds x videos: value = truth + video effect + seed effect + noise. Its variance is estimated
  as var(seed means) / S + var(video means) / N: the first term holds the trainings' noise (and each seed's own
  draw of right and wrong videos), the second the validation set's (the videos all seeds share, which no number
  of seeds averages away); the noise term is counted in both, which errs on the wide side. The interval is a
  Student t interval with S - 1 degrees of freedom (4.3 x the standard error at 3 seeds, not the bootstrap's
  1.96); one seed has the videos' term alone, with N - 1. Coverage and false-verdict rate are checked by
  simulation in tests/test_claims_statistics.py. Groups are dataset splits over other videos (a row's mean over
  splits): their means are averaged.
- `wilson_interval`: one run's top-1 or top-5 (a proportion of N videos): never the zero-width [100, 100] of a
  percentile bootstrap, and near its nominal coverage at 97 %.
- `mcnemar_exact`: one run's paired top-1 difference, the exact binomial test on the discordant videos.
- `holm`: Holm's step-down adjusted p-values: family-wise error control over any dependence between the tests.

The distributions, the Wilson interval and the exact binomial test are scipy.stats'; Holm's step-down, which scipy
does not have, is a few lines here (checked against worked values in tests/test_claims_statistics.py).
"""

import math

import numpy as np
from scipy import stats

LEVEL = 0.95
ALPHA = 1.0 - LEVEL


def t_quantile(q, df):
    """The t with P(T <= t) = q for Student's t with `df` degrees of freedom."""
    return float(stats.t.ppf(q, df))


def t_p_value(t, df):
    """Two-sided p-value of a t statistic."""
    return float(min(1.0, 2.0 * stats.t.sf(abs(t), df)))


def seed_interval(groups, level=LEVEL):
    """Mean, interval and p-value of per-video values over seeds: `groups` is a list of (S x N_g) arrays (one per
    split of other videos, the same S seeds in the same order in each), values in percent. A dict: point, lo, hi,
    p (two-sided, against 0), df, seeds, videos. One seed gives the videos' interval alone (df N - 1)."""
    groups = [np.asarray(group, dtype=np.float64) for group in groups]
    seeds = {group.shape[0] for group in groups}
    if len(seeds) != 1:
        raise ValueError(f"the splits have different seed counts: {sorted(seeds)}")
    num_seeds = seeds.pop()
    per_seed = np.mean([group.mean(axis=1) for group in groups], axis=0)
    point = float(per_seed.mean())
    # Videos: the variance of each split's per-video means over seeds, the splits averaged.
    video_var = sum(group.mean(axis=0).var(ddof=1) / group.shape[1] for group in groups) / len(groups) ** 2
    video_df = sum(group.shape[1] - 1 for group in groups)
    seed_var = per_seed.var(ddof=1) / num_seeds if num_seeds > 1 else 0.0
    variance = seed_var + video_var
    # The seeds' degrees of freedom, the lower bound of Satterthwaite's for the sum: his estimate rises when the
    # seeds' variance happens to come out small, narrowing the interval just when it is too narrow (93.5 %
    # coverage at 3 seeds in the simulation, against 95 % with this bound).
    df = float(num_seeds - 1 if num_seeds > 1 else video_df)
    out = {"point": point, "df": df, "seeds": num_seeds, "videos": sum(group.shape[1] for group in groups)}
    if variance <= 0:  # every value alike on every seed and video: nothing varies to test against
        return out | {"lo": point, "hi": point, "p": 1.0 if point == 0 else 0.0}
    half = t_quantile(0.5 + level / 2, df) * math.sqrt(variance)
    return out | {"lo": point - half, "hi": point + half, "p": t_p_value(point / math.sqrt(variance), df)}


def wilson_interval(hits, n, level=LEVEL):
    """Wilson score interval of `hits` out of `n`, in percent."""
    if n <= 0:
        raise ValueError("no videos")
    ci = stats.binomtest(int(hits), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return 100.0 * ci.low, 100.0 * ci.high


def mcnemar_exact(only_first, only_second):
    """Two-sided exact McNemar p-value: videos only the first model gets right against those only the second does,
    a binomial(b + c, 1/2) test."""
    total = only_first + only_second
    if total == 0:
        return 1.0
    return float(stats.binomtest(int(only_first), int(total), 0.5).pvalue)


def holm(pvalues):
    """Holm's step-down adjusted p-values, in the order given: reject where adjusted p < alpha controls the
    family-wise error rate at alpha."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * len(pvalues), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted
