"""`prismrec datasets`: the named datasets and whether each is in the data home."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from prismrec.cli.common import friendly, out, to_json


@friendly
def datasets(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The named datasets, and whether each is present in the data home."""
    from prismrec.data.registry import data_home, dataset_dir, is_present
    from prismrec.data.registry import datasets as named_datasets

    specs = named_datasets()
    rows = [{"name": n, "present": is_present(n), "folder": str(dataset_dir(n)), "description": specs[n].description,
             "terms": specs[n].terms} for n in sorted(specs)]  # fmt: skip
    if as_json:
        out.print_json(to_json(rows))
        return
    table = Table(title=f"data home: {data_home()}")
    for column in ("name", "present", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], "yes" if row["present"] else "no (downloads on first use)", row["description"])
    out.print(table)
