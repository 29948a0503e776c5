"""Request and response bodies of the HTTP API (pydantic): validation errors name the field."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal["view", "click", "cart", "purchase", "rating"]
MAX_BATCH = 1000  # events per POST /v1/events
MAX_ID = 256  # characters of a user or item id
MAX_NAME = 1000  # characters of a category name
MAX_PATH = 4096  # characters of a model folder path

class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=MAX_ID)
    item_id: str = Field(min_length=1, max_length=MAX_ID)
    type: EventType
    value: float | None = Field(default=None, allow_inf_nan=False, description="e.g. a rating")
    ts: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="Unix seconds (default: now)")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventOut(BaseModel):
    user_id: str
    item_id: str
    type: str
    value: float | None
    ts: float


class EventsStored(BaseModel):
    stored: int


class UserEvents(BaseModel):
    user_id: str
    events: list[EventOut]


class ScoredItem(BaseModel):
    item_id: str
    score: float
    reason: str


class UserRecommendations(BaseModel):
    user_id: str
    items: list[ScoredItem]


class BundleItem(BaseModel):
    item_id: str
    title: str


class ScoredBundle(BaseModel):
    bundle_id: str
    name: str = Field(description="the bundle's name or intent, empty when the source has none")
    score: float
    items: list[BundleItem]
    reason: str


class UserBundles(BaseModel):
    user_id: str
    bundles: list[ScoredBundle]


class GenerateIn(BaseModel):
    """Exactly one of item_ids, user_id and intent; the rest tune the composition (defaults when absent)."""

    model_config = ConfigDict(extra="forbid")

    item_ids: list[Annotated[str, Field(max_length=MAX_ID)]] | None = Field(default=None, min_length=1, max_length=50,
                                                                             description="seed items")  # fmt: skip
    user_id: str | None = Field(default=None, max_length=MAX_ID, description="compose around what this user has")
    intent: str | None = Field(default=None, min_length=1, max_length=500, description="e.g. camping trip for two")
    k: int = Field(default=4, ge=1, le=50, description="items to compose (seeds not counted)")
    max_per_category: int | None = Field(default=None, ge=0, description="items per most specific category; 0 = any")
    substitute_similarity: float | None = Field(default=None, ge=0.0, le=1.0,
                                                description="cosine above which two items are substitutes")  # fmt: skip
    diversity: float | None = Field(default=None, ge=0.0, le=0.99, description="DPP diversity (0 = score order)")
    budget: float | None = Field(default=None, ge=0.0, description="maximum total price (where items have prices)")


class GeneratedItem(BaseModel):
    item_id: str
    title: str
    score: float
    reason: str


class GeneratedBundleOut(BaseModel):
    items: list[GeneratedItem]


class SearchResults(BaseModel):
    query: str
    items: list[ScoredItem]


class SimilarItems(BaseModel):
    item_id: str
    items: list[ScoredItem]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=20_000)
    categories: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(default_factory=list, max_length=100)


class ItemSaved(BaseModel):
    item_id: str
    created: bool


class ItemDeleted(BaseModel):
    item_id: str
    deleted: bool


class ReloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, max_length=MAX_PATH, description="model folder (default: the served one)")


class Reloaded(BaseModel):
    model: str
    items: int


class Status(BaseModel):
    status: str
    model: str | None = None
    items: int | None = None
    events: int | None = None
