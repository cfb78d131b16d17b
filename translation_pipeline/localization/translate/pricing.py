"""What requests cost: USD per 1M input and output tokens, per model.

The built-in figures are public list prices at the time of writing, for estimates only: providers change
them and contracts differ, so override them in the settings YAML (`prices: {model: {input: x, output: y}}`).
A model without a price has an unknown cost (None), never an invented one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True)
class PriceTable:
    """List prices with per-model overrides from the settings."""

    prices: Mapping[str, tuple[float, float]]

    @classmethod
    def from_settings(cls, overrides: Mapping[str, Mapping[str, float]] | None = None) -> PriceTable:
        """`overrides` as in the settings YAML: `{model: {input: x, output: y}}`, USD per 1M tokens."""
        prices = dict(LIST_PRICES)
        for model, price in (overrides or {}).items():
            try:
                prices[model] = (float(price["input"]), float(price["output"]))
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(
                    f"prices.{model} must be {{input: USD per 1M tokens, output: USD per 1M tokens}}, got {price!r}"
                ) from error
        return cls(prices)

    def cost_usd(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Cost of the tokens in USD, or None when the model has no price."""
        price = self.prices.get(model)
        if price is None:
            return None
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
