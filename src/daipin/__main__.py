"""Entry point for `python -m daipin`."""

from daipin.cli import main

main()
