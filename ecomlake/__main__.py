"""`python -m ecomlake` runs the CLI."""

from ecomlake.cli.app import main

main()
