"""Printable reports: the public notice PDF for the village board."""
