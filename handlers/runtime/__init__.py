"""Everything that reaches into Connexion, Starlette or uvicorn internals, in one place. Each choice is
measured (the module says by how much); each is guarded by a test in `tests/runtime/` that fails when the
framework stops honouring it. Written against connexion 3.3.0, starlette 1.10.0, uvicorn 0.54.0 and
httptools 0.9.0 (pinned in pyproject.toml); on an upgrade, check what each module relies on:

`operations.py` and `handler_slots.py` (each operation's decorator chain and URI parser built once; the
app's handler slots; the bearer handler's signature check cached):
- `AsyncApp._middleware_app.api_cls` (private attribute, read when `add_api` runs);
- `AsyncApi.make_operation(operation)`, `.pythonic_params`, `.jsonifier`;
- `AsyncOperation.from_operation(...)`, `AsyncOperation._fn` (private) and the `fn` property `__call__` awaits;
- `StarletteDecorator.decorate(fn)`, `.framework.get_request(uri_parser=, scope=, receive=)`, `.uri_parser`,
  and `decorate` wrapping the handler with the `_sync_async_decorator` property (private), replaced so that
  a sync handler runs in the app's slots: in a greenlet on the loop (SQLAlchemy's `greenlet_spawn`, and
  `await_` / `concurrency.in_greenlet` in `models/waits.py`), or on a thread until the engine has
  connected once (`models.db.waits_yield`: its first-connect hooks hold a threading lock across queries);
- `connexion.context.operation` (a werkzeug `LocalProxy`, `_get_current_object()`) being the one spec
  operation of a route, its `uri_parser_class`, `.parameters`, `.body_definition()`, and a URI parser
  keeping no state of a request's (`param_schemas` a property recomputed on each use);
- `AsyncParameterDecorator.sanitize_fn` (set in `__init__`, passed to `prep_kwargs`);
- `connexion.context.scope` / `.receive`; `BearerSecurityHandler._accepts_kwarg` (private static method)
  and `AsyncApp(security_map=...)`.

`validation.py` (ECMA-262 patterns, strict integers, orjson bodies, validators compiled once per app):
- `ParameterValidator.parameters`, `.validate_request(request)`, `.validate_parameter(type, value, param, name)`;
- `JSONRequestBodyValidator._validator` (private property), `._schema`, `._required`, `._parse(stream, scope)`,
  `._validate(body)`; `connexion.json_schema.Draft4RequestValidator`; `VALIDATOR_MAP`'s layout;
  `ParameterValidator.validate_query_parameter_list`, `.validate_query_parameter`, `.validate_path_parameter`,
  `.strict_validation`, `.security_query_params` (every violation collected, not just the first); and
  `OpenAPIOperation.__init__` appending the path's parameters to the operation's own list in place, once
  per middleware (so parameters are de-duplicated before they are reported).

`routing.py` (bad ids reach the validator; no trailing-slash redirect):
- `RoutingMiddleware.__init__` registering Starlette's "int" convertor, `.add_api`, `.router`;
  Starlette's `register_url_convertor` (process-global) and `Router.redirect_slashes`;
  `ConnexionMiddleware.default_middlewares`.

`request_scope.py` (what the metrics and rate-limit middleware read off the scope):
- the routing middleware's `scope.copy()` sharing the outer scope's `extensions` dict, and its
  `extensions["connexion_routing"]["operation_id"]`; the security middleware's
  `extensions["connexion_context"]["user"]` (the token's `sub`).

`cors.py` (a refused CORS preflight answered as problem+json):
- `starlette.middleware.cors.CORSMiddleware.preflight_response(request_headers)` returning its refusal as
  a 400 whose body is `Disallowed CORS <origin, method, headers...>`.

`protocol.py` (uvicorn's httptools protocol with a head bound, deadlines, a connection cap, HTTP/1.x only,
problem+json refusals, a first-request grace at shutdown; guarded by tests/runtime/test_connections.py and
test_serving.py):
- `HttpToolsProtocol.__init__(config, server_state, app_state)`, `.connection_made`, `.connection_lost`,
  `.data_received`, `.on_message_begin`, `.on_headers_complete` (which makes the request's cycle),
  `.on_body`, `.on_message_complete`, `.on_response_complete`, `.send_400_response(msg)`, `.shutdown()`;
  its attributes `config`, `parser` (`get_http_version()`), `connections` (the worker's open connections),
  `cycle` (`response_started`, `response_complete`, `keep_alive`, `disconnected`, `message_event`),
  `transport`, `logger`, `loop`, `server_state.default_headers`; uvicorn arming `timeout_keep_alive`
  only after a response (the protocol arms its own idle deadline before the first request).

`serving.py` (draining shutdown; the limits carried on the config):
- `uvicorn.Server.servers` (private list of asyncio servers), `.shutdown(sockets)`, `.server_state`,
  `.lifespan.state`, `.started`, `config.http_protocol_class`; `uvicorn.Config` pickled whole (its
  `__dict__`, with the `connection_limits` attribute `ServingConfig` adds) to each spawned worker.

`workers.py` (`--workers N` draining like one process; guarded by test_serving.py's SIGTERM test with
two workers, which asserts each worker logs its drain):
- `uvicorn.supervisors.multiprocess.Process` looked up by name in that module whenever the supervisor
  makes a worker (replaced there while it runs), `Process._server` and the `server` property its
  `target` runs; `Multiprocess.sockets` and `.terminate_all()`, called once when it is told to stop.
"""
