"""The app's HTTP server: Streamlit's ASGI app with the app's own routes (the session cookie,
downloads) and its security headers. Started by `python -m tracker serve` (tracker/serve.py)."""
