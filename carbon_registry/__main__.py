"""`python -m carbon_registry`: the same command line as `carbon-registry`."""

from carbon_registry.cli import main

main()
