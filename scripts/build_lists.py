#!/usr/bin/env python
"""Build the split lists of a dataset from its official annotation files and its extracted frames.

Writes OUT/train.txt and OUT/val.txt ("frame_dir num_frames label" per line, the TSM format), OUT/classes.txt
(class names in label order) and OUT/missing.txt ("split video_id" for annotated videos without frames).
Some missing videos are normal (lost downloads) and only reported; a split with none found is an error (exit 2),
as it means a wrong --frames folder.
"""
import argparse
import sys

from ctnet.data.annotations import index_frames, write_lists
from ctnet.data.registry import DATASETS, dataset_kind, parse_annotations


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    parser.add_argument("--annotations", required=True, help="folder of the dataset's official annotation files")
    parser.add_argument("--frames", required=True, help="frames root (output of extract_frames.py, or the "
                                                        "Something-Something V1 frame folders)")
    parser.add_argument("--out", required=True, help="folder for the lists")
    parser.add_argument("--split", type=int, default=1, help="UCF101 / HMDB51 split number (1-3)")
    parser.add_argument("--rows-annotations", help="Mini-Kinetics-200: the folder of the Kinetics-400 CSVs its id "
                                                   "lists select from (default: --annotations)")
    args = parser.parse_args(argv)
    try:
        index = index_frames(args.frames, filename_prefix=dataset_kind(args.dataset).frame_prefix)
        splits = parse_annotations(args.dataset, args.annotations, index, args.split, args.rows_annotations)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"build_lists.py: error: {exc}\n")
    for split, ids in splits.missing.items():
        if ids and not splits.records[split]:
            parser.exit(2, f"build_lists.py: error: none of the {len(ids)} annotated {split} videos of "
                           f"{args.annotations} has frames in {args.frames} (no folder {ids[0]}/, for one); point "
                           "--frames at the frames extracted from this dataset's videos, or extract them first\n")
    paths = write_lists(splits, args.out)
    for split in ("train", "val"):
        found, missing = len(splits.records[split]), len(splits.missing[split])
        share = 100.0 * missing / max(found + missing, 1)
        print(f"{split}: {found} videos, {missing} missing ({share:.1f}%) -> {paths[split]}")
    print(f"{len(splits.classes)} classes -> {paths['classes']}; missing ids -> {paths['missing']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
