"""The registry's HTTP API (FastAPI), its Python client and the `serve` command."""
