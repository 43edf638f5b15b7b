"""``auditkit datasets``: example files, synthetic data with planted bias, public data sets fetched on request.

A thin shell over :mod:`auditkit.datasets`.  Only ``fetch`` uses the network,
and only when it is run.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from ._json import json_text
from .cli_templates import ErrorExitGroup

__all__ = ["datasets"]


@click.group(cls=ErrorExitGroup)
def datasets() -> None:
    """Example data: shipped files, synthetic generators with planted bias, public data sets to fetch."""


@datasets.command("list")
def list_datasets() -> None:
    """List the shipped examples, the generators and the public data sets 'fetch' can download."""
    from .datasets.fetch import cached_path
    from .datasets.generators import GENERATORS
    from .datasets.registry import EXAMPLES, REMOTE, example_path

    click.echo("Shipped examples (each folder has a data card, README.md):")
    for name, example in EXAMPLES.items():
        try:
            where = str(example_path(name))
        except Exception:  # noqa: BLE001 - a missing file is shown, not fatal
            where = f"{example.path} (not found: set AUDITKIT_DATASETS_PATH)"
        template = f"  [template {example.template}]" if example.template else ""
        click.echo(f"  {name:<20} {example.title}{template}\n  {'':<20} {where}")
    click.echo("\nGenerators (auditkit datasets generate NAME OUT.csv):")
    for name, function in GENERATORS.items():
        click.echo(f"  {name:<20} {(function.__doc__ or '').strip().splitlines()[0]}")
    click.echo("\nPublic data sets (auditkit datasets fetch NAME; downloads from the publisher):")
    for name, entry in REMOTE.items():
        cached = cached_path(name)
        status = "cached" if cached.is_file() else "not downloaded"
        pinned = f"sha256 {entry.sha256}" if entry.sha256 else "no pinned sha256: a fetched file stays unverified"
        click.echo(f"  {name:<20} {entry.title}\n  {'':<20} {entry.url}\n  {'':<20} {pinned}; {status} ({cached})")


@datasets.command()
@click.argument("name")
@click.option("--sha256", "sha256", metavar="HEX",
              help="A SHA-256 you checked against the source; the file is verified against it.")
@click.option("--force", is_flag=True, help="Download again even if the file is in the cache.")
@click.option("--timeout", type=float, default=60.0, show_default=True, metavar="SECONDS")
def fetch(name: str, sha256: str | None, force: bool, timeout: float) -> None:
    """Download public data set NAME from its publisher into the cache (AUDITKIT_CACHE or ~/.cache/auditkit)."""
    from .datasets.fetch import fetch as run_fetch
    from .datasets.registry import REMOTE

    result = run_fetch(name, sha256=sha256, force=force, timeout=timeout)
    click.echo(result.describe())
    entry = REMOTE[name]
    click.echo(f"Licence: {entry.licence}\nCite: {entry.citation}")


@datasets.command()
@click.argument("name")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rows", type=int, metavar="N", help="Rows to draw (student-finance: students).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the seed of the shipped files).")
@click.option("--no-planted", is_flag=True, help="The planted-none control: the same process with every effect removed.")
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the planted disparities and their true sizes as JSON.")
def generate(name: str, out: Path, rows: int | None, seed: int | None, no_planted: bool,
             truth_path: Path | None) -> None:
    """Write synthetic data set NAME (with planted disparities of known size) to OUT (.csv or .parquet)."""
    from .datasets.generators import SEED
    from .datasets.generators import generate as run_generate

    data = run_generate(name, rows, SEED if seed is None else seed, planted=not no_planted)
    from ._output import open_output, write_text

    parquet = out.suffix.lower() in (".parquet", ".pq")
    with open_output(out, "wb") if parquet else open_output(out, "w", newline="") as fh:
        if parquet:
            data.frame.to_parquet(fh, index=False)
        else:
            data.frame.to_csv(fh, index=False, lineterminator="\n")
    if truth_path is not None:
        record = {"generator": data.name, "seed": data.seed, "rows": len(data.frame), "parameters": data.parameters,
                  "audit": {k: list(v) if isinstance(v, tuple) else v for k, v in data.audit.items()},
                  "planted": [asdict(p) for p in data.planted]}
        write_text(truth_path, json_text(record))
    planted = sum(p.planted for p in data.planted)
    click.echo(f"Wrote {len(data.frame):,} rows to {out} ({name}, seed {data.seed}; {planted} planted disparities, "
               f"{len(data.planted) - planted} true ratios of 1).")
