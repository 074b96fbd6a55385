"""Closing a year: every project settled, every village allocated, resumable and parallel by county."""
