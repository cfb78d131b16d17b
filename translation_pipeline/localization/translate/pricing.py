"""What requests cost: USD per 1M input and output tokens, per model.

The built-in figures are public list prices at the time of writing, for estimates only: providers change
them and contracts differ, so override them in the settings YAML (`prices: {model: {input: x, output: y}}`).
A model without a price has an unknown cost (None), never an invented one.

The batch lane (the providers' Batch APIs) costs `BATCH_SHARE` of the realtime price unless a model's entry
gives its own `batch_input` / `batch_output`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# model -> (USD per 1M input tokens, USD per 1M output tokens); list prices, override them in settings
LIST_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "qwen-plus": (0.40, 1.20),
    "qwen-turbo": (0.05, 0.20),
    "qwen-max": (1.60, 6.40),
    "pseudo-v2": (0.0, 0.0),  # offline pseudo-localization, nothing is billed
}
BATCH_SHARE = 0.5  # OpenAI's and DashScope's Batch APIs: half the realtime price
LANES = ("realtime", "batch")


@dataclass(frozen=True)
class PriceTable:
    """List prices with per-model overrides from the settings."""

    prices: Mapping[str, tuple[float, float]]
    batch_prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # explicit batch rates

    @classmethod
    def from_settings(cls, overrides: Mapping[str, Mapping[str, float]] | None = None) -> PriceTable:
        """`overrides` as in the settings YAML: `{model: {input: x, output: y[, batch_input: x, batch_output: y]}}`,
        USD per 1M tokens."""
        prices, batch = dict(LIST_PRICES), {}
        for model, price in (overrides or {}).items():
            try:
                prices[model] = (float(price["input"]), float(price["output"]))
                if "batch_input" in price or "batch_output" in price:
                    batch[model] = (float(price["batch_input"]), float(price["batch_output"]))
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(
                    f"prices.{model} must be {{input: USD per 1M tokens, output: USD per 1M tokens}} (and both of "
                    f"batch_input, batch_output, or neither), got {price!r}"
                ) from error
        return cls(prices, batch)

    def cost_usd(self, model: str, prompt_tokens: int, completion_tokens: int, lane: str = "realtime") -> float | None:
        """Cost of the tokens in USD on `lane`, or None when the model has no price."""
        price = self.batch_prices.get(model) if lane == "batch" else None
        if price is None:
            price = self.prices.get(model)
            if price is None:
                return None
            if lane == "batch":
                price = (price[0] * BATCH_SHARE, price[1] * BATCH_SHARE)
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
