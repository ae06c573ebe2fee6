"""What the service does, as plain functions that the API routes and the console pages call.

    recommend.py   recommend (journaling the impressions, or not: a console preview)
    overrides.py   list, create, remove overrides (stored, audited, swapped in)
    models.py      list, promote, roll back model versions (the one reader of the registry)
    audit.py       the audit log as both read it, how it names who acted, refused sign-ins
    errors.py      what they raise when they refuse (NotFound, Conflict, Invalid)

An operation takes the worker's `ServiceState`, the snapshot the caller read (a request uses
one snapshot from start to end) and validated input; it returns plain values and raises an
`OperationError` subclass, never an HTTP response. A route validates, calls the operation
and shapes the response (the API turns an `OperationError` into its JSON error); a console
page does the same with HTML. So the two cannot drift: same checks, same audit entries, same
metrics.
"""
