#!/usr/bin/env python
"""Extract JPEG frames from videos in the TSM layout: OUT/<video_id>/img_00001.jpg ...

Writes OUT/manifest[.shard-I-of-N].csv (video_id,num_frames,made_from) and OUT/failures[...].csv (video_id,path,reason)
and warns about each failed video; exits with status 1 when more than --max-failed-fraction of the shard's
videos failed (downloads always hold a few broken ones), after processing all the others, and at once, with
neither file, when frames cannot be written (a full disk); 2 on bad arguments or when --videos holds no videos.
Re-running reuses a video's folder only when it was made from the same video file with the same settings, and
logs how many folders were reused and why the others were extracted again.
"""
import argparse
import sys
from collections import Counter

from ctnet.data.extract import FrameWriteError, extract_videos, failures_exceed, output_names, parse_shard
from ctnet.data.frames import SHORT_SIDE


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", required=True, help="folder of videos (searched recursively) or a list file")
    parser.add_argument("--out", required=True, help="frames root folder")
    parser.add_argument("--short-side", type=int, default=SHORT_SIDE, help="resize the short side to this (0 = keep)")
    parser.add_argument("--shard", default="0/1", help="I/N: handle every N-th video starting at I (0-based)")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality (1-95)")
    parser.add_argument("--max-failed-fraction", type=float, default=0.05,
                        help="exit with status 1 when more than this share of the shard's videos failed (0-1)")
    args = parser.parse_args(argv)
    try:
        if not 0 <= args.max_failed_fraction <= 1:
            raise ValueError(f"--max-failed-fraction must be in 0..1, got {args.max_failed_fraction}")
        shard = parse_shard(args.shard)
        outcomes = extract_videos(args.videos, args.out, args.short_side, shard, args.workers, args.quality)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"extract_frames.py: error: {exc}\n")
    except FrameWriteError as exc:
        print(f"extract_frames.py: error: {exc}", file=sys.stderr)
        return 1
    failed = [o for o in outcomes if o.reason]
    manifest, failures = output_names(shard)
    for outcome in failed:
        print(f"extract_frames.py: warning: {outcome.path}: {outcome.reason}", file=sys.stderr)
    reused = sum(o.reused for o in outcomes)
    print(f"{len(outcomes) - len(failed)} videos extracted ({reused} of them reused; "
          f"{sum(o.num_frames for o in outcomes)} frames) -> {args.out}/{manifest}; "
          f"{len(failed)} failed -> {args.out}/{failures}")
    if reused:
        print(f"{reused} frame folders reused: made from the same video files with the same settings")
    for why, count in sorted(Counter(o.stale for o in outcomes if o.stale and not o.reason).items()):
        print(f"{count} frame folders re-extracted: {why}")
    if failures_exceed(len(failed), len(outcomes), args.max_failed_fraction):
        print(f"extract_frames.py: error: {len(failed)} of {len(outcomes)} videos failed "
              f"({100 * len(failed) / len(outcomes):.1f}%), more than --max-failed-fraction "
              f"{args.max_failed_fraction}; see {args.out}/{failures}, then repair or remove those videos, "
              "or raise max_failed_fraction in this source's config", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
