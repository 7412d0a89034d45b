"""The default-run benchmark reads Snakemake's job records and, with --fresh, leaves no clone behind unless asked."""

import base64
import json

from helpers import load_script


def fake_run(clones):
    """A stand-in for cloning and running make all_tables: two jobs' records in `into`, 60 s wall, 100 s CPU."""
    def run(into, cores):
        clones.append(into)
        folder = into / ".snakemake/metadata"
        folder.mkdir(parents=True)
        for output, rule, start, end in (("results/train/a/final.pt", "train", 0.0, 40.0),
                                         ("results/scores/a/1x1.npz", "test", 40.0, 45.0)):
            record = {"rule": rule, "starttime": start, "endtime": end, "job_hash": hash(output)}
            (folder / base64.b64encode(output.encode()).decode()).write_text(json.dumps(record))
        return 60.0, 100.0
    return run


def test_fresh_run_reports_and_removes_its_temporary_clone(monkeypatch, capsys, tmp_path):
    bench = load_script("bench_default_run", folder="benchmarks")
    clones = []
    monkeypatch.setattr(bench, "fresh_run", fake_run(clones))
    assert bench.main(["--fresh"]) == 0
    output = capsys.readouterr().out
    assert "wall time: 1 min 00.0 s" in output and "| train | 1 | 40.0 s |" in output
    assert len(clones) == 1 and not clones[0].exists() and not clones[0].parent.exists()

    kept = tmp_path / "clone"
    assert bench.main(["--fresh", "--into", str(kept)]) == 0
    assert clones[-1] == kept and (kept / ".snakemake/metadata").is_dir()
