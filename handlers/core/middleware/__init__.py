"""Pure ASGI middleware classes, one concern per module, in the order `handlers.app` installs them."""
