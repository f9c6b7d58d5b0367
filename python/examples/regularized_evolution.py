#!/usr/bin/env python3
"""Regularized evolution (Real et al. 2019), written only against weaknas_search.

    params = { command = "python3 python/examples/regularized_evolution.py" }

The defaults and rules of the built-in `evolution` (baselines/src/evolution.rs): population
30 drawn uniformly without replacement and queried as a batch; tournaments of 10 drawn with
replacement; the tournament's best is mutated (the harness's mutation); the child is queried
and joins the population; the oldest member dies.

Duplicate children (`duplicates`, as the built-in's parameter of the same name):
- "charge" (default, NASLib's RegularizedEvolution): a child queried before is queried again
  and charged one query (`query(..., charge_repeats=True)`), and joins the population;
- "re-mutate": the parent is mutated again until the child is new, up to `mutation_tries`
  (100), else the child is a uniform unqueried cell; no query is ever repeated.

Override with `args = { population_size = 30, sample_size = 10, duplicates = "charge",
mutation_tries = 100 }`.
"""
import collections
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from weaknas_search import cell_key, connect  # noqa: E402


def main():
    s = connect()
    population_size = int(s.args.get("population_size", 30))
    sample_size = int(s.args.get("sample_size", 10))
    mutation_tries = int(s.args.get("mutation_tries", 100))
    duplicates = s.args.get("duplicates", "charge")
    if duplicates not in ("charge", "re-mutate"):
        raise SystemExit("duplicates must be \"charge\" or \"re-mutate\", not %r" % duplicates)
    rng = random.Random(s.seed)
    cells = s.space()
    index = {cell_key(c): i for i, c in enumerate(cells)}
    unqueried = list(range(len(cells)))
    queried = set()

    def draw():
        while unqueried:
            j = rng.randrange(len(unqueried))
            i = unqueried[j]
            unqueried[j] = unqueried[-1]
            unqueried.pop()
            if i not in queried:
                return i
        raise RuntimeError("no unqueried cell left")

    def query(ids, charge_repeats=False):
        queried.update(ids)
        return s.query([cells[i] for i in ids], charge_repeats=charge_repeats)

    population = collections.deque()
    while len(population) < population_size and s.remaining > 0:
        batch = [draw() for _ in range(min(population_size - len(population), s.remaining))]
        population.extend((i, v) for i, v in zip(batch, query(batch)) if v is not None)
    while s.remaining > 0:
        parent = population[rng.randrange(len(population))]
        for _ in range(sample_size - 1):
            cand = population[rng.randrange(len(population))]
            if cand[1] > parent[1]:
                parent = cand
        child = None
        for _ in range(mutation_tries):
            c = index[cell_key(s.mutate(cells[parent[0]]))]
            if duplicates == "charge" or c not in queried:
                child = c
                break
        if child is None:
            child = draw()
        (v,) = query([child], charge_repeats=duplicates == "charge")
        if v is None:
            continue
        population.append((child, v))
        if len(population) > population_size:
            population.popleft()
    s.done()


if __name__ == "__main__":
    main()
