"""How long loading and validating manifests takes, against a floor measured in the same run.

For each size, generates that many SMTP proxy address resources in files of --per-file
resources each, then times:
  floor     yaml.parse (libyaml's C parser when present) running through every event
  parse     cupiform's loader: values with their positions, duplicate keys refused
  validate  the whole of ``cupiform validate``'s work: config, parse, schema, rules, model
and prints each with its ratio to the floor. Best of --repeat runs.

    .venv/bin/python benchmarks/load_validate.py [--sizes 10000 100000] [--per-file 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

from cupiform.config import load_config
from cupiform.manifest import load_manifests
from cupiform.yamlload import load_yaml_file

T = TypeVar("T")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def generate(directory: Path, count: int, per_file: int) -> list[Path]:
    (directory / "cupiform.yaml").write_text(
        "server:\n  url: embedded\nmanifests: [manifests/*.yaml]\n", encoding="utf-8"
    )
    manifests = directory / "manifests"
    manifests.mkdir()
    files = []
    for start in range(0, count, per_file):
        lines = ["smtp_proxy_addresses:"]
        for i in range(start, min(start + per_file, count)):
            if i % 2:
                owner = f"user: user{i // 3}"
            else:
                owner = f"user_object_id: 9375d893-c8eb-437b-90bf-{i:012x}"
            lines.append(f"  user{i}-work:\n    address: user{i}.work@example.com\n    {owner}")
        path = manifests / f"part-{start // per_file:05d}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def best_of(repeat: int, run: Callable[[T], object], argument: T) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run(argument)
        times.append(time.perf_counter() - started)
    return min(times)


def floor(files: list[Path]) -> None:
    for path in files:
        for _event in yaml.parse(path.read_bytes(), Loader=LOADER):
            pass


def parse_only(files: list[Path]) -> None:
    for path in files:
        load_yaml_file(path, path.name)


def validate(directory: Path) -> int:
    config = load_config(directory, os.environ)
    return len(load_manifests(config).resources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-file", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    print(f"parser: {LOADER.__name__}; best of {options.repeat}")
    print(
        f"{'resources':>10} {'files':>6} {'floor s':>8} {'parse s':>8} {'ratio':>6} "
        f"{'validate s':>10} {'ratio':>6}"
    )
    for size in options.sizes:
        with tempfile.TemporaryDirectory() as temporary:
            directory = Path(temporary)
            files = generate(directory, size, options.per_file)
            assert validate(directory) == size
            floor_s = best_of(options.repeat, floor, files)
            parse_s = best_of(options.repeat, parse_only, files)
            validate_s = best_of(options.repeat, validate, directory)
            print(
                f"{size:>10} {len(files):>6} {floor_s:>8.3f} {parse_s:>8.3f} "
                f"{parse_s / floor_s:>6.2f} {validate_s:>10.3f} {validate_s / floor_s:>6.2f}"
            )


if __name__ == "__main__":
    main()
