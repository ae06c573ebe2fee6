"""Storage: what the engine keeps between requests. The event journal (append-only, idempotent
by event id) with its file import and export, API keys, the model registry, and the usage
aggregates a snapshot reads from the journal."""
