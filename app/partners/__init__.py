"""Partners: organisations that use the JSON API under /api/v1 with API keys staff issue in the admin."""
