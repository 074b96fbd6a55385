"""Insurance of poverty-fund assets and premium subsidies (R3.3, SUPERVISION.md NO_INSURANCE)."""
