#!/usr/bin/env python
"""Extract JPEG frames from videos in the TSM layout: OUT/<video_id>/img_00001.jpg ...

Writes OUT/manifest[.shard-I-of-N].csv (video_id,num_frames) and OUT/failures[...].csv (video_id,path,reason);
exits with status 1 when any video failed, after processing all the others. Re-running skips finished videos.
"""
import argparse
import sys

from ctnet.data.extract import extract_videos, output_names, parse_shard


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", required=True, help="folder of videos (searched recursively) or a list file")
    parser.add_argument("--out", required=True, help="frames root folder")
    parser.add_argument("--short-side", type=int, default=256, help="resize the short side to this (0 = keep)")
    parser.add_argument("--shard", default="0/1", help="I/N: handle every N-th video starting at I (0-based)")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality (1-95)")
    args = parser.parse_args(argv)
    try:
        shard = parse_shard(args.shard)
        outcomes = extract_videos(args.videos, args.out, args.short_side, shard, args.workers, args.quality)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"extract_frames.py: error: {exc}\n")
    failed = [o for o in outcomes if o.reason]
    manifest, failures = output_names(shard)
    print(f"{len(outcomes) - len(failed)} videos extracted ({sum(o.num_frames for o in outcomes)} frames) "
          f"-> {args.out}/{manifest}; {len(failed)} failed -> {args.out}/{failures}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
