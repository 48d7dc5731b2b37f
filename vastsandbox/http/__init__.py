"""The HTTP face of the sandbox: the aiohttp app, the router, and the route modules that call the world."""
