"""The `prismrec` command: fit, recommend, search, evaluate, tune, tradeoff, datasets, demo, serve, keys, refit,
compact, bundles.

Commands are thin: they call the library and print. A `PrismrecError` becomes a one-line message
on stderr and exit code 1, never a traceback. Each command group lives in its own module; this
module only assembles them into one `app`.
"""

from __future__ import annotations

import typer

import prismrec.cli.spark as spark_commands
from prismrec.cli import bundles, datasets, evaluating, fitting, recommending, searching, serving, synth

app = typer.Typer(
    help="prismrec: fit, evaluate and serve recommendations that are relevant and diverse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(fitting.fit)
app.command()(recommending.recommend)
app.command()(evaluating.evaluate)
app.command()(evaluating.tune)
app.command()(evaluating.tradeoff)
app.command()(datasets.datasets)
app.command()(recommending.demo)
app.command()(searching.search)

keys = typer.Typer(help="API keys of the service (stored hashed in its SQLite file).", no_args_is_help=True)
keys.command("create")(serving.keys_create)
app.add_typer(keys, name="keys")

app.command()(serving.serve)
app.command()(fitting.refit)
app.command()(serving.compact)

bundles_app = typer.Typer(help=bundles.HELP, no_args_is_help=True)
bundles_app.command("evaluate")(bundles.bundles_evaluate)
bundles_app.command("fit")(bundles.bundles_fit)
bundles_app.command("recommend")(bundles.bundles_recommend)
bundles_app.command("generate")(bundles.bundles_generate)
app.add_typer(bundles_app, name="bundles")
app.add_typer(spark_commands.spark_app(), name="spark")
app.command()(synth.synth)


def main() -> None:
    app()


__all__ = ["app", "main"]
