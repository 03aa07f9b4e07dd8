"""Split the written corpus once into train and test (run once; kept to show how).

Articles on one event stay together (an event in both splits would let grouping and dates
be learned from the test split); each writer's batch (a domain: messaging, video, app stores,
games, marketplaces, dating and travel, payments, AI and ads) is split 60/40, shuffled with a
fixed seed.

    python bench/data/split.py /work/corpus_gen/h*.jsonl
"""

from __future__ import annotations

import collections
import json
import random
import sys
from pathlib import Path

SEED = 20261130
TEST_SHARE = 0.4
HERE = Path(__file__).parent


def main(paths: list[str]) -> None:
    train, test = [], []
    for path in sorted(paths):
        with open(path, encoding="utf-8") as lines:
            records = [json.loads(line) for line in lines if line.strip()]
        groups = collections.defaultdict(list)
        for record in records:
            groups[record["gold"]["event"] or record["id"]].append(record)
        keys = sorted(groups)
        random.Random(f"{SEED}-{Path(path).stem}").shuffle(keys)
        wanted, taken = round(TEST_SHARE * len(records)), 0
        for key in keys:
            target = test if taken < wanted else train
            target.extend(groups[key])
            taken += len(groups[key]) if target is test else 0
    for name, records in (("train", train), ("test", test)):
        records.sort(key=lambda r: r["id"])
        with open(HERE / f"{name}.jsonl", "w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"{name}: {len(records)} articles")


if __name__ == "__main__":
    main(sys.argv[1:])
