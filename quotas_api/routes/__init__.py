"""Route modules, each exposing a `routes` list; app.ROUTE_MODULES names the ones served."""
