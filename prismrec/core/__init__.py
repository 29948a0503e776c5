"""The core: configuration, the fitted pipeline and its one request path, explanations, persistence.

    from prismrec.core import PipelineConfig, RecommendRequest, load_pipeline

    fitted = PipelineConfig.from_toml("configs/ml-100k-best.toml").fit(train, catalog)
    result = fitted.recommend(RecommendRequest.for_users([0, 1], k=10, explain=True))
"""

from prismrec.core.config import PipelineConfig, RerankConfig, ScorerConfig
from prismrec.core.persistence import load_pipeline, save_pipeline
from prismrec.core.pipeline import FittedPipeline
from prismrec.core.request import Because, RecommendRequest, RecommendResult, SimilarRequest

__all__ = [
    "Because",
    "FittedPipeline",
    "PipelineConfig",
    "RecommendRequest",
    "RecommendResult",
    "RerankConfig",
    "ScorerConfig",
    "SimilarRequest",
    "load_pipeline",
    "save_pipeline",
]
