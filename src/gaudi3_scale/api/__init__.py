"""The platform API: jobs over HTTP, backed by PostgreSQL."""
