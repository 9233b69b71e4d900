"""Measurement, reporting and verification: from platform activity data to issued credits.

`ingest` turns signed activity batches into claims (or reasoned rejections), `verification`
records verifiers' attestations, `issuance` plans issuance runs with the buffer pool, and
`simulator` drives the whole pipeline with generated data. The ledger (`registry.ledger`)
wraps each step as a signed operation that writes exactly one event.
"""
