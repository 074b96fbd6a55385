"""Domain core: pure rules of money, contracts, workflow and supervision (standard library only)."""
