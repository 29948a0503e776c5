"""The [bundles] section: a registered bundle scorer and its typed parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from prismrec.bundles.scorers import bundle_scorer_class
from prismrec.core.config import ComponentConfig, PipelineConfig, read_toml
from prismrec.errors import ConfigError

DEFAULT_BUNDLE_SCORER = "fused"


class BundleScorerConfig(ComponentConfig):
    """The bundle scorer: a registered bundle scorer and its parameters ([bundles])."""

    label: ClassVar[str] = "bundle scorer"

    @staticmethod
    def lookup(name: str) -> Any:
        return bundle_scorer_class(name)

    @classmethod
    def from_toml(cls, path: str | Path) -> BundleScorerConfig:
        """The [bundles] section of a TOML file (a pipeline config or a file with only that section)."""
        data = read_toml(path)
        if "bundles" not in data:
            raise ConfigError(f"{path}: no [bundles] section (e.g. [bundles] name = \"fused\" lambda = 500.0)")
        try:
            return cls.from_table(data["bundles"])
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None

    @classmethod
    def from_table(cls, table: dict[str, Any] | None) -> BundleScorerConfig:
        """The scorer a [bundles] table names (no table or no name: the fused scorer's defaults)."""
        values = dict(table or {})
        name = values.pop("name", DEFAULT_BUNDLE_SCORER)
        if not isinstance(name, str):
            raise ConfigError(f'[bundles] needs name = "<bundle scorer>" (e.g. "{DEFAULT_BUNDLE_SCORER}")')
        return cls.build(name, values)

    @classmethod
    def of_pipeline(cls, config: PipelineConfig) -> BundleScorerConfig:
        """The bundle scorer of a pipeline configuration's [bundles] section."""
        return cls.from_table(config.bundles)
