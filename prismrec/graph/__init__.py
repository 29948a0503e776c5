"""Item knowledge graph: item–attribute edges for relatedness features and pair explanations."""

from prismrec.graph.item_graph import Attribute, ItemGraph

__all__ = ["Attribute", "ItemGraph"]
