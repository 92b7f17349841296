#!/usr/bin/env python3
"""The table of medians that ends bench-cluster.sh and bench-kv.sh.

Usage: bench_table.py RESULTS.jsonl COLUMN...

RESULTS holds one JSON object per line, each with a "label"; lines with the
same label are runs of one workload. Each COLUMN is HEADER=KEY[|KEY...][:DIGITS]:
the header printed, the JSON keys tried in turn (the first one present in a
run counts), and the digits after the point (default 1). A row per label, in
the order labels first appear, with the median over its runs of each column.
"""
import json
import statistics
import sys


def main(path, specs):
    rows = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            d = json.loads(line)
            rows.setdefault(d.get("label", "?"), []).append(d)
    columns = []
    for spec in specs:
        header, rest = spec.split("=", 1)
        keys, _, digits = rest.partition(":")
        columns.append((header, keys.split("|"), int(digits or 1)))

    def median(runs, keys):
        vals = []
        for d in runs:
            v = next((d[k] for k in keys if d.get(k) is not None), None)
            if v is not None:
                vals.append(v)
        return statistics.median(vals) if vals else None

    print(f"{'label':40} {'n':>2} " + " ".join(f"{h:>10}" for h, _, _ in columns))
    for label, runs in rows.items():
        cells = []
        for _, keys, digits in columns:
            v = median(runs, keys)
            cells.append(f"{'-' if v is None else f'{v:.{digits}f}':>10}")
        print(f"{label:40} {len(runs):>2} " + " ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
