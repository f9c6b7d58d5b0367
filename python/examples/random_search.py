#!/usr/bin/env python3
"""Random search without replacement, written only against weaknas_search (docs/protocol.md).

    params = { command = "python3 python/examples/random_search.py" }

Draws `budget` distinct cells uniformly from the space with the run's seed and queries them
in blocks of 10.
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from weaknas_search import connect  # noqa: E402


def main():
    s = connect()
    rng = random.Random(s.seed)
    cells = s.space()
    order = rng.sample(range(len(cells)), s.budget)
    for start in range(0, s.budget, 10):
        s.query([cells[i] for i in order[start : start + 10]])
    s.done()


if __name__ == "__main__":
    main()
