"""The one environment variable prometheus_client's multiprocess mode reads (kept apart so the
server can name it without importing prometheus_client before the workers fork)."""

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
