"""The local backend: jobs as subprocesses, a SQLite registry and HTTP endpoints on localhost."""
