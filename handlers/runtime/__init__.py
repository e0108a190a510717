"""Everything that reaches into Connexion, Starlette or uvicorn internals, in one place. Each choice is
measured (the module says by how much); each is guarded by a test in `tests/runtime/` that fails when the
framework stops honouring it. Written against connexion 3.3.0, starlette 1.10.0, uvicorn 0.54.0 and
httptools 0.9.0 (pinned in pyproject.toml); on an upgrade, check what each module relies on:

`operations.py` (each operation's decorator chain built once; the app's handler slots; the bearer
handler's signature check cached):
- `AsyncApp._middleware_app.api_cls` (private attribute, read when `add_api` runs);
- `AsyncApi.make_operation(operation)`, `.pythonic_params`, `.jsonifier`;
- `AsyncOperation.from_operation(...)`, `AsyncOperation._fn` (private) and the `fn` property `__call__` awaits;
- `StarletteDecorator.decorate(fn)`, `.framework.get_request(uri_parser=, scope=, receive=)`, `.uri_parser`;
- `connexion.context.scope` / `.receive`; `BearerSecurityHandler._accepts_kwarg` (private static method)
  and `AsyncApp(security_map=...)`.

`validation.py` (ECMA-262 patterns, strict integers, orjson bodies, validators compiled once per app):
- `ParameterValidator.parameters`, `.validate_request(request)`, `.validate_parameter(type, value, param, name)`;
- `JSONRequestBodyValidator._validator` (private property), `._schema`, `._required`, `._parse(stream, scope)`,
  `._validate(body)`; `connexion.json_schema.Draft4RequestValidator`; `VALIDATOR_MAP`'s layout.

`routing.py` (bad ids reach the validator; no trailing-slash redirect):
- `RoutingMiddleware.__init__` registering Starlette's "int" convertor, `.add_api`, `.router`;
  Starlette's `register_url_convertor` (process-global) and `Router.redirect_slashes`;
  `ConnexionMiddleware.default_middlewares`.

`request_scope.py` (what the metrics and rate-limit middleware read off the scope):
- the routing middleware's `scope.copy()` sharing the outer scope's `extensions` dict, and its
  `extensions["connexion_routing"]["operation_id"]`; the security middleware's
  `extensions["connexion_context"]["user"]` (the token's `sub`).

`serving.py` (uvicorn's httptools protocol with a head bound, problem+json refusals, draining shutdown):
- `HttpToolsProtocol.data_received`, `.on_message_begin`, `.on_headers_complete`, `.on_response_complete`,
  `.send_400_response(msg)`, `.shutdown()` and its attributes `cycle` (`response_complete`, `keep_alive`),
  `transport`, `logger`, `loop`, `server_state.default_headers`;
- `uvicorn.Server.servers` (private list of asyncio servers), `.shutdown(sockets)`, `.server_state`,
  `.lifespan.state`, `.started`, `config.http_protocol_class`; `uvicorn.supervisors.Multiprocess`.
"""
