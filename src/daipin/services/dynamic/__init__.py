"""The dynamic-management feature (动态管理)."""
