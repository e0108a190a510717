"""App-wide plumbing: one settings object, logging, problem types, per-request state and the ASGI
middleware (one concern per module in `middleware/`). Nothing here reaches into framework internals."""
