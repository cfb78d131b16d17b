"""Translate: the batch contract, prompt, placeholders, engine, rate limits, pricing, providers."""
