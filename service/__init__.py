"""The HTTP edge: FastAPI app, routers, auth, metrics and the channel manager console."""
