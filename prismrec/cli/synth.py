"""`prismrec synth`: write a synthetic interactions log and catalogue that `prismrec fit` reads as they are."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from prismrec.cli.common import friendly, out, step, to_json
from prismrec.errors import ConfigError

EXPLICIT = ("users", "items", "events", "seed")
PARAM_HELP = ("another generator parameter name=value (repeatable): clusters, popularity_exponent, "
              "cluster_affinity, activity_sigma, start, end")  # fmt: skip
SynthParamOption = Annotated[list[str], typer.Option("--param", help=PARAM_HELP)]


@friendly
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="folder for interactions, items and synth.json")],
    users: Annotated[int, typer.Option(help="users (each has at least one event)")] = 1000,
    items: Annotated[int, typer.Option(help="items in the catalogue")] = 1000,
    events: Annotated[int, typer.Option(help="events in the log, at least --users")] = 20000,
    seed: Annotated[int, typer.Option(help="random seed: the same options write the same files")] = 42,
    format_: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    param: SynthParamOption = [],  # noqa: B006  (typer reads the default)
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Write a synthetic log (power-law popularity, clustered interests, increasing timestamps) and its items."""
    import json

    from prismrec.data.synth import SynthParams, write_synth
    from prismrec.params import parse_assignments, parse_params

    extra = parse_assignments(param)
    given = sorted(set(extra) & set(EXPLICIT))
    if given:
        raise ConfigError(f"--param {given[0]}: give it as --{given[0]}")
    values = {"users": users, "items": items, "events": events, "seed": seed, **extra}
    params = parse_params(SynthParams, values, "synth")
    started = time.perf_counter()
    with step(f"writing {events} events to {out_dir}"):
        paths = write_synth(params, out_dir, format_)
    seconds = time.perf_counter() - started
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    if as_json:
        out.print_json(to_json({**summary, "files": {name: str(path) for name, path in paths.items()},
                                "seconds": seconds}))  # fmt: skip
        return
    counts = summary["counts"]
    out.print(f"wrote {counts['events']} events ({counts['users']} users, {counts['items']} items, "
              f"{counts['clusters']} categories) in {seconds:.2f} s -> "
              f"{paths['interactions']}, {paths['items']}")  # fmt: skip
