"""The service's process runtime: the worker supervisor (one SO_REUSEPORT socket per worker),
the HTTP protocol with TCP_NODELAY, and the process tuning (worker environment, compute
thread caps, heap freezing)."""
