"""Wangge API: FastAPI service, storage (``api.db``), CLI."""
