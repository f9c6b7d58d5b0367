"""Client of weaknas-bench's ask/tell protocol (docs/protocol.md, version 1).

Standard library only, Python >= 3.9. A searcher is a script that `weaknas run` starts once
per (method, benchmark, seed); with this module it reads like a plain search loop:

    from weaknas_search import connect

    s = connect()                       # reads the hello; stdout is now the protocol's
    rng = random.Random(s.seed)         # the run's seed: deterministic searches resume
    cells = s.space()                   # every cell, in the benchmark's native form
    for cell in rng.sample(cells, s.budget):
        value = s.query([cell])[0]      # search metric only, charged against the budget
    s.done()

Cells are native: NB201 arch strings, NB101 dicts {"matrix", "ops", "hash"}, DARTS/NASNet
genotype text. `cell_key(cell)` gives a hashable key for any of them. While connected,
`print` goes to stderr (the searcher's log): stdout carries the protocol only.
"""

import json
import sys

PROTOCOL_VERSION = 1

__all__ = ["connect", "Searcher", "ProtocolError", "cell_key", "PROTOCOL_VERSION"]


class ProtocolError(RuntimeError):
    """The harness reported an error, or the conversation broke."""


def cell_key(cell):
    """A hashable key of a native cell (NB101 dicts by their module hash)."""
    if isinstance(cell, dict):
        if "hash" in cell:
            return cell["hash"]
        return json.dumps(cell, sort_keys=True)
    return cell


class Searcher:
    """One run's connection to the harness (use `connect()`).

    Attributes from the hello: `budget`, `seed`, `benchmark`, `dataset`, `space_name`,
    `space_size`, `cell_format`, `encoding_dim`, `args` (the method's `args` table),
    `run_id`, `hello` (the whole message); `used` and `remaining` follow the queries.
    """

    def __init__(self, inp=None, out=None):
        self._in = inp if inp is not None else sys.stdin
        self._out = out if out is not None else sys.stdout
        if out is None:
            sys.stdout = sys.stderr  # user prints must not corrupt the protocol
        hello = self._read()
        if hello.get("type") != "hello":
            raise ProtocolError("expected a hello, got %r" % (hello,))
        if hello.get("protocol") != PROTOCOL_VERSION:
            raise ProtocolError(
                "protocol %r is not supported (this client speaks %d)"
                % (hello.get("protocol"), PROTOCOL_VERSION)
            )
        self.hello = hello
        self.budget = hello["budget"]
        self.seed = hello["seed"]
        self.benchmark = hello["benchmark"]
        self.dataset = hello["dataset"]
        self.space_name = hello["space"]
        self.space_size = hello["space_size"]
        self.cell_format = hello["cell_format"]
        self.encoding_dim = hello["encoding_dim"]
        self.args = hello.get("args") or {}
        self.run_id = hello.get("run_id", "")
        self.used = 0
        self.remaining = self.budget
        self._space = None

    # -- wire ---------------------------------------------------------------------------
    def _read(self):
        line = self._in.readline()
        if not line:
            raise ProtocolError("the harness closed the connection")
        msg = json.loads(line)
        if msg.get("type") == "error":
            raise ProtocolError(msg.get("message", "error"))
        return msg

    def _send(self, msg):
        self._out.write(json.dumps(msg, separators=(",", ":")) + "\n")
        self._out.flush()

    def _ask(self, msg, answer_type):
        self._send(msg)
        reply = self._read()
        if reply.get("type") != answer_type:
            raise ProtocolError("expected %r, got %r" % (answer_type, reply))
        return reply

    # -- requests -----------------------------------------------------------------------
    def query(self, cells, iteration=None, charge_repeats=False):
        """Search-metric values of `cells` (None for a failed open-domain evaluation).

        New cells are charged; repeats are free, unless `charge_repeats` (then every cell
        is charged, as NASLib's regularized evolution pays for a duplicate child). More
        charged cells than `remaining` is an error that ends the run: check `remaining`.
        """
        msg = {"type": "query", "cells": list(cells)}
        if iteration is not None:
            msg["iteration"] = int(iteration)
        if charge_repeats:
            msg["repeats"] = "charge"
        reply = self._ask(msg, "values")
        self.used = reply["used"]
        self.remaining = reply["remaining"]
        return reply["values"]

    def space(self, encodings=False):
        """Every cell of the space in id order; with `encodings`, (cells, feature vectors)."""
        if self._space is not None and not encodings:
            return list(self._space)
        self._send({"type": "space", "encodings": bool(encodings)})
        cells, enc = [], []
        while True:
            chunk = self._read()
            if chunk.get("type") != "space":
                raise ProtocolError("expected a space chunk, got %r" % (chunk,))
            cells.extend(chunk["cells"])
            enc.extend(chunk.get("encodings", []))
            if chunk["last"]:
                break
        self._space = cells
        return (list(cells), enc) if encodings else list(cells)

    def neighbours(self, cell):
        """Every cell one mutation away from `cell`, in a fixed order."""
        return self._ask({"type": "neighbours", "cell": cell}, "neighbours")["cells"]

    def mutate(self, cell):
        """One random mutation of `cell` (the harness's, from the run's seeded stream)."""
        return self._ask({"type": "mutate", "cell": cell}, "mutation")["cell"]

    def statistics(self):
        """(mean, std, label) of the search metric over the whole space (a labelled peek;
        mean and std are None in open domain)."""
        r = self._ask({"type": "statistics"}, "statistics")
        return r["mean"], r["std"], r["label"]

    def report_ranking(self, iteration, scores):
        """Report a predictor's score of every cell (space order) for the diagnostics."""
        self._ask(
            {"type": "ranking", "iteration": int(iteration), "scores": [float(x) for x in scores]},
            "ok",
        )

    def done(self):
        """End the search (the budget must be spent)."""
        self._ask({"type": "done"}, "bye")


def connect():
    """Reads the hello from stdin and returns the run's `Searcher`."""
    return Searcher()
