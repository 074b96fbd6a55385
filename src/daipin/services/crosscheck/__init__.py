"""Cross-county checks at province level, without clear ID numbers (docs/scale.md 跨县比对)."""
