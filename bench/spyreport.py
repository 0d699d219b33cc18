"""Summarise a py-spy raw (collapsed stacks) file: inclusive share of time per function.

    python -m bench.spyreport FILE [--top 40] [--filter bot/]
"""

from __future__ import annotations

import argparse
import collections
import sys


def inclusive(path: str, needle: str = "") -> tuple[int, collections.Counter[str]]:
    total = 0
    shares: collections.Counter[str] = collections.Counter()
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            stack, _, count = line.rstrip().rpartition(" ")
            if not count.isdigit():
                continue
            samples = int(count)
            total += samples
            seen: set[str] = set()
            for frame in stack.split(";"):
                name = frame.split(" (")[0]
                where = frame.rsplit("(", 1)[-1].split(":")[0] if "(" in frame else ""
                key = f"{name} ({where.split('site-packages/')[-1]})"
                if needle and needle not in key:
                    continue
                if key not in seen:
                    seen.add(key)
                    shares[key] += samples
    return total, shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.spyreport")
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--filter", default="")
    args = parser.parse_args(argv)
    total, shares = inclusive(args.path, args.filter)
    lines = [f"{total} samples"]
    lines.extend(f"{count / max(total, 1) * 100:5.1f}%  {key}" for key, count in shares.most_common(args.top))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
