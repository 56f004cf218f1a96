"""Two parts of a large plan, each against what it replaces, measured in the same run.

    python benchmarks/plan_parts.py [--size 100000]

On the files `benchmarks/plan_scale.py` writes (N resources in files of 1,000, and a state
binding them all), best of 5 (3 for the manifests):

- the state's quick check (``cupiform/quickcheck.py``) against fastjsonschema, compiled
  from the same schema, on the same decoded state;
- the manifests read by the fast path (``cupiform/quickload.py``) against the general
  path (YAML document, schema, rules), with PyYAML's C parser running through the same
  files' events as the floor.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import fastjsonschema
import yaml
from plan_scale import build  # the sibling script (run from benchmarks/ on sys.path)

from cupiform.manifest import load_manifest_files
from cupiform.quickcheck import compile_check, inline_references
from cupiform.schema import schema_document


def best(run: Callable[[], object], times: int) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append(time.perf_counter() - started)
    return min(spent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cupiform-parts-") as scratch:
        folder = Path(scratch)
        build(folder, args.size, "json")
        state = json.loads((folder / "project/state/cupiform-state.json").read_text())
        document = schema_document("state")
        quick = compile_check(document)
        assert quick is not None and quick(state)
        fast = fastjsonschema.compile(inline_references(document))
        quick_s, fast_s = best(lambda: quick(state), 5), best(lambda: fast(state), 5)
        print(f"state of {args.size}: quick check {quick_s:.3f} s, fastjsonschema {fast_s:.3f} s")
        print(f"  quick / fastjsonschema: {quick_s / fast_s:.2f}")

        files = [(p, p.name) for p in sorted((folder / "project/manifests").glob("*.yaml"))]
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        def events() -> None:
            for path, _ in files:
                for _event in yaml.parse(path.read_bytes(), Loader=loader):
                    pass

        floor_s = best(events, 3)
        fast_path = best(lambda: load_manifest_files(files), 3)
        general = best(lambda: load_manifest_files(files, quick=False), 3)
        print(
            f"manifests of {args.size}: events (floor) {floor_s:.3f} s, fast path "
            f"{fast_path:.3f} s, general path {general:.3f} s"
        )
        print(
            f"  fast / floor: {fast_path / floor_s:.2f}, general / floor: {general / floor_s:.2f}"
        )


if __name__ == "__main__":
    main()
