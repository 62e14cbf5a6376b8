"""Summarise a py-spy raw (collapsed) profile: where the samples are, by function, as a table.

    python -m benchmarks.flame PROFILE.txt [--top 25]

"self" is the share of samples whose innermost frame is the function; "total" the share in which
it appears anywhere on the stack (each function counted once per sample), the flame graph's width.
Threads are told apart: py-spy's raw format starts each stack with the thread's name.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from benchmarks.support import print_table

# "function (module/path.py:line)" → "function (path.py)": a function is one entry whatever the line.
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def _short(frame: str) -> str:
    found = _FRAME.match(frame.strip())
    if not found:
        return frame.strip()
    path = found["file"]
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{found['name']} ({path})"


def summarise(path: Path, thread: str = "") -> tuple[int, Counter[str], Counter[str], Counter[str]]:
    """(samples, self counts, total counts, samples per thread) of a raw py-spy profile.

    With ``thread``, only the stacks of threads whose first frame contains it count.
    """
    samples, own, total, threads = 0, Counter[str](), Counter[str](), Counter[str]()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if thread not in frames[0]:
            continue
        samples += count
        threads[frames[0]] += count
        names = [_short(frame) for frame in frames[1:]] or [frames[0]]
        own[names[-1]] += count
        for name in set(names):
            total[name] += count
    return samples, own, total, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--thread", default="", help="only threads whose first frame contains this")
    args = parser.parse_args()
    samples, own, total, threads = summarise(args.profile, args.thread)
    print(f"{samples} samples in {args.profile}")
    print_table("threads", ["thread", "share"], [[name, f"{n / samples:.0%}"] for name, n in threads.most_common()])
    print_table(
        "self: innermost frame",
        ["function", "self"],
        [[name, f"{n / samples:.1%}"] for name, n in own.most_common(args.top)],
    )
    print_table(
        "total: anywhere on the stack",
        ["function", "total"],
        [[name, f"{n / samples:.1%}"] for name, n in total.most_common(args.top)],
    )


if __name__ == "__main__":
    main()
