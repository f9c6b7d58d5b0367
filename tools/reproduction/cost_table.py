#!/usr/bin/env python3
"""The CPU-time table of docs/reproduction/cost.md, from the logs of `queue.sh` (standard
library only).

Each invocation in a log is a `=== <UTC time> start: [nice -n N] [taskset -c C] <weaknas> run
SPEC --out DIR [--seeds A..B] [--methods ...] [--datasets ...] ...` line, the run summary
(`N runs, D already done, R ran, F failed`) and the `=== cpu user U s sys S s wall W s` line of
/usr/bin/time. An invocation without its time line (still running, or killed) is left out, and
so are those that made no run (every run of the batch was already finished) or stopped before
running any (no summary line, e.g. an output directory locked by another process).

With `--update FILE`, the table replaces the lines between the markers
`<!-- cost table: begin -->` and `<!-- cost table: end -->` in FILE (written in place; the rest
of FILE, its prose, is kept as it is), and a total row is added.

Usage: python3 tools/reproduction/cost_table.py [--update FILE] LOG... > table.md
"""

import os
import re
import shlex
import sys

START = re.compile(r"=== (\S+) start: (.*)$")
SUMMARY = re.compile(r"(\d+) runs, (\d+) already done, (\d+) ran, (\d+) failed")
TIME = re.compile(r"=== cpu user ([\d.]+) s sys ([\d.]+) s wall ([\d.]+) s")


def parse_command(cmd):
    """(spec file name, seeds, methods, datasets) of a `weaknas run` command line."""
    words = shlex.split(cmd)
    if "run" not in words:
        return None
    args = words[words.index("run") + 1 :]
    opts, positional, i = {}, [], 0
    while i < len(args):
        a = args[i]
        if a in ("--methods", "--datasets"):
            # Older logs echoed the command unquoted: a name runs to the next option.
            j = i + 1
            while j < len(args) and not args[j].startswith("--"):
                j += 1
            opts[a] = " ".join(args[i + 1 : j])
            i = j
            continue
        if a in ("--out", "--seeds", "--jobs", "--shard"):
            opts[a] = args[i + 1] if i + 1 < len(args) else ""
            i += 2
            continue
        if not a.startswith("--"):
            positional.append(a)
        i += 1
    spec = positional[0].split("/")[-1] if positional else "?"
    return spec, opts.get("--seeds", "spec's"), opts.get("--methods", "all"), opts.get("--datasets", "all")


def invocations(paths):
    rows = []
    for path in paths:
        cur = None
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                m = START.match(line)
                if m:
                    parsed = parse_command(m.group(2))
                    cur = None
                    if parsed:
                        spec, seeds, methods, datasets = parsed
                        cur = dict(t=m.group(1), spec=spec, seeds=seeds, methods=methods, datasets=datasets)
                    continue
                m = SUMMARY.search(line)
                if m and cur:
                    cur["ran"] = int(m.group(3))
                m = TIME.match(line)
                if m and cur:
                    cur["cpu"] = float(m.group(1)) + float(m.group(2))
                    cur["wall"] = float(m.group(3))
                    rows.append(cur)
                    cur = None
    return sorted(rows, key=lambda r: r["t"])


BEGIN = "<!-- cost table: begin -->"
END = "<!-- cost table: end -->"


def table(paths, total=False):
    """The table's markdown lines (invocations that made no run left out)."""
    lines = [
        "| started (UTC) | spec file | methods | datasets | seeds | runs made | CPU time | wall time | CPU per run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    runs = cpu = 0
    for r in invocations(paths):
        ran = r.get("ran")
        if not ran:
            continue
        runs, cpu = runs + ran, cpu + r["cpu"]
        lines.append(
            f"| {r['t']} | {r['spec']} | {r['methods']} | {r['datasets']} | {r['seeds']} | "
            f"{ran} | {r['cpu'] / 60:.1f} min | {r['wall'] / 60:.1f} min | {r['cpu'] / ran:.1f} s |"
        )
    if total:
        lines.append(f"| **total** | | | | | {runs} | {cpu / 3600:.1f} h | | |")
    return lines


def update(path, logs):
    """Replaces the table between the markers of `path` (exits naming the problem if absent)."""
    with open(path) as f:
        text = f.read()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        sys.exit(f"cost_table.py: {path} needs one '{BEGIN}' line before one '{END}' line")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    body = "\n".join(table(logs, total=True))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{head}{BEGIN}\n{body}\n{END}{tail}")
    os.replace(tmp, path)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--update"]:
        if len(args) < 3:
            sys.exit(__doc__.strip().splitlines()[-1])
        update(args[1], args[2:])
        return
    if not args:
        sys.exit(__doc__.strip().splitlines()[-1])
    print("\n".join(table(args)))


if __name__ == "__main__":
    main()
