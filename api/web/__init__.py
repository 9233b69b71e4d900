"""The registry's web pages, served by `serve` beside the API: a public explorer (aggregates
and public log content only), the person's carbon account at /me (signed in with their
wallet, EIP-4361), and the vendored assets the pages and /docs load (never a CDN).

Server-rendered with Jinja2; labels in zh-CN (first) and en (`i18n`).
"""
