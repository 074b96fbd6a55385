"""Supervision: red-flag rules, the district scan, findings, inspections and rectification (SUPERVISION.md)."""
