"""The learned weights: logistic models over named features, trained by ``policy-monitor train``
(``monitor.extract.train``) and shipped as ``data/model.json``.

A model is a bias and a weight per feature name; its score is the logistic of their sum, a
probability. Unknown feature names weigh nothing, so a text may hold words training never saw.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from monitor.extract.lexicon import DATA_DIR

MODEL_FILE = DATA_DIR / "model.json"
MODELS = ("decision", "platform", "practice", "action", "date", "term")


@dataclass(frozen=True)
class LinearModel:
    bias: float
    weights: dict[str, float]

    def probability(self, features: dict[str, float]) -> float:
        weights = self.weights
        z = self.bias + sum(weights.get(name, 0.0) * value for name, value in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Models:
    """The models of the extraction and the thresholds chosen at training."""

    decision: LinearModel
    platform: LinearModel
    practice: LinearModel
    action: LinearModel
    date: LinearModel
    term: LinearModel
    thresholds: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def threshold(self, name: str, default: float = 0.5) -> float:
        return self.thresholds.get(name, default)

    def to_json(self) -> dict:
        return {
            "info": self.info,
            "thresholds": self.thresholds,
            "models": {
                name: {
                    "bias": round(getattr(self, name).bias, 6),
                    "weights": {
                        k: round(v, 6) for k, v in sorted(getattr(self, name).weights.items())
                    },
                }
                for name in MODELS
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> Models:
        models = {
            name: LinearModel(float(data["models"][name]["bias"]), data["models"][name]["weights"])
            for name in MODELS
        }
        return cls(**models, thresholds=data.get("thresholds", {}), info=data.get("info", {}))


@cache
def load_models(path: str = str(MODEL_FILE)) -> Models:
    """The shipped models (cached)."""
    with open(Path(path), encoding="utf-8") as fh:
        return Models.from_json(json.load(fh))


def save_models(models: Models, path: Path = MODEL_FILE) -> None:
    path.write_text(json.dumps(models.to_json(), ensure_ascii=False, indent=0, sort_keys=True))
