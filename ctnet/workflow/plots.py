"""Shared pieces of the plotting scripts: reading a table CSV back as numbers, error bars from its intervals, what the
CSV says about comparability and shared trainings (its `comparable` and `scores` columns), labels placed so that
they do not overlap, saving a figure atomically."""

import csv
import itertools
import math
from pathlib import Path

import numpy as np

from ctnet.atomic import atomic_path
from ctnet.workflow.tables import COLUMNS, INTERVAL_COLUMNS, OPTIONAL_COLUMNS

NUMERIC = ("views", "top1", "top5", "gflops", "gflops_per_view",
           "paper_top1", "paper_top5", "paper_gflops", "paper_gflops_per_view") + tuple(INTERVAL_COLUMNS)


def read_table_csv(path):
    """The rows of a make_table.py CSV with numeric cells as floats and empty cells as None. A CSV written
    before the interval columns existed reads with them all None (no error bars)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: not found; build the table first (snakemake {path})")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in COLUMNS
                   if column not in (reader.fieldnames or []) and column not in OPTIONAL_COLUMNS]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}; rebuild it with scripts/make_table.py")
        rows = list(reader)
    for row in rows:
        for key in NUMERIC:
            row[key] = float(row[key]) if row.get(key) else None
    return rows


def error_bar(row, metric):
    """[[below], [above]] for matplotlib's `yerr` from the row's `<metric>_lo`/`_hi`, or None when empty."""
    value, lo, hi = row.get(metric), row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if value is None or lo is None or hi is None:
        return None
    return [[max(0.0, value - lo)], [max(0.0, hi - value)]]


def save_figure(fig, path, dpi=150):
    """Save `fig` as PNG through a temporary file in the same folder."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")


def comparable_with_paper(rows):
    """What the table's CSV says of its accuracies beside the paper's: (True, "") or (False, why); (None, "") for
    a CSV without the column (written before it existed)."""
    cells = {row.get("comparable") for row in rows if row.get("comparable")}
    if not cells:
        return None, ""
    cell = sorted(cells)[0]
    return (True, "") if cell == "yes" else (False, cell.removeprefix("no").lstrip(": "))


def same_training(rows):
    """Groups (two rows or more, in the CSV's order) of reproduced rows that read the same scores files: one
    training serves them (Plan.trained_as: at CPU scale several backbones map to one model)."""
    groups = {}
    for row in rows:
        if row["top1"] is not None and row.get("scores"):
            groups.setdefault(row["scores"], []).append(row)
    return [group for group in groups.values() if len(group) > 1]


# offsets (in points) tried for a label, nearest first: 8 directions around the point on rings of growing radius
_DIRECTIONS = ((1, 0), (1, 1), (1, -1), (-1, 0), (-1, 1), (-1, -1), (0, 1), (0, -1))
_RINGS = (6, 14, 24, 36, 50)
# the text's side that faces the point, so that the offset is the gap between point and text
_ALIGN_X = {1: "left", 0: "center", -1: "right"}
_ALIGN_Y = {1: "bottom", 0: "center", -1: "top"}


def _overlap(a, b):
    """Area shared by two display-space Bboxes (0 when they only touch or are apart)."""
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))


def _distance(box, x, y):
    """Display-space distance from the point (x, y) to the Bbox (0 inside it)."""
    return math.hypot(max(box.x0 - x, 0.0, x - box.x1), max(box.y0 - y, 0.0, y - box.y1))


def _annotate(ax, point, label, colour, fontsize, ring, direction, leader):
    """`label` `ring` points from `point` in `direction`, its side facing the point; with `leader`, a thin line
    joins them."""
    dx, dy = direction
    # the line leaves the text at its anchor (relpos), the corner or side facing the point, not at its centre
    arrow = {"arrowstyle": "-", "color": colour, "lw": 0.5, "shrinkA": 0, "shrinkB": 4,
             "relpos": ((1 - dx) / 2, (1 - dy) / 2)}
    return ax.annotate(label, point, xytext=(dx * ring, dy * ring), textcoords="offset points", fontsize=fontsize,
                       color=colour, ha=_ALIGN_X[dx], va=_ALIGN_Y[dy], arrowprops=arrow if leader else None)


def place_labels(ax, points, avoid=(), fontsize=8, marker_pt=5.0):
    """Annotate each (x, y, label, colour) of `points` where its text overlaps no label placed before it, no other
    point's marker (a square of half-side `marker_pt` points), none of the `avoid` artists (error bars, lines) and
    no leader line, stays inside the axes and, beside its point, lies nearer it than any other point (so that it
    names no neighbour): the first such offset of _RINGS x _DIRECTIONS, with a leader line beyond the nearest ring,
    itself crossing no label or other marker; where none is, the offset that overlaps least. Greedy in the order
    given, so the layout (limits, tight_layout) must be final before the call: later changes move the points but
    not the labels' sizes."""
    # imported here: the workflow imports this module for its path only, and should not load matplotlib for it
    from matplotlib.path import Path as Segment
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    half, scale = marker_pt * fig.dpi / 72, fig.dpi / 72
    centres = ax.transData.transform([(x, y) for x, y, _, _ in points])
    markers = [Bbox.from_extents(x - half, y - half, x + half, y + half) for x, y in centres]
    # padded, as a straight line's box has no width or height; the labels placed so far join them
    taken = [artist.get_window_extent(renderer).padded(2) for artist in avoid]
    leaders = []  # the leader lines drawn so far, which later labels must not cover
    frame = ax.get_window_extent(renderer).padded(-4)  # clear of the spines, not touching them
    for index, (x, y, label, colour) in enumerate(points):
        # the offsets keep a label off its own marker, and its leader line ends there; other markers are obstacles
        obstacles = taken + markers[:index] + markers[index + 1:]
        centre = centres[index]
        best = None
        for ring, direction in itertools.product(_RINGS, _DIRECTIONS):
            # measured without its leader line, whose box would span the point
            text = _annotate(ax, (x, y), label, colour, fontsize, ring, direction, leader=False)
            box = text.get_window_extent(renderer).padded(2)
            text.remove()
            leader = None if ring == _RINGS[0] else Segment([centre, centre + scale * ring * np.asarray(direction)])
            crossed = sum(line.intersects_bbox(box) for line in leaders)
            if leader is not None:
                crossed += sum(leader.intersects_bbox(other) for other in obstacles)
            # a label with a leader line names its point by the line, one beside its point by being nearest it
            ambiguous = leader is None and any(_distance(box, *other) < _distance(box, *centre)
                                               for other in np.delete(centres, index, axis=0))
            area = box.width * box.height
            cost = (area - _overlap(box, frame) + sum(_overlap(box, other) for other in obstacles) + crossed * area,
                    ambiguous)
            if best is None or cost < best[0]:
                best = (cost, ring, direction, box, leader)
            if cost == (0, False):
                break
        _, ring, direction, box, leader = best
        _annotate(ax, (x, y), label, colour, fontsize, ring, direction, leader=leader is not None)
        taken.append(box)
        if leader is not None:
            leaders.append(leader)
