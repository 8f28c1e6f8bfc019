"""Infrastructure every app shares: the unit of work, enqueueing after commit, the per-process
cache, request ids and logging context, health checks, the metrics registry and the API's error
format. It imports no app (the layer rule in docs/architecture.md); the apps import it."""
