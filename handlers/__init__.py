"""The task API: the app factory (`app.py`), the command line (`__main__.py`) and the endpoints
(`tasks.py`, `health.py`, with `inputs.py` and `responses.py`). Beside them: `auth/` (where a token is
checked), `core/` (settings, logging, problems, per-request state, middleware) and `runtime/` (every
extension of Connexion, Starlette and uvicorn internals, in one place)."""
