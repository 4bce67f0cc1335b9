"""What the orchestrator, our MCP servers and the web front end all need.

Each of those three packages may import this one; it imports none of them (an
import-linter contract in pyproject.toml says so). It holds the settings they share, the
database plumbing (the embedded PostgreSQL, engines, Alembic upgrades), the SSRF address
policy, document text extraction, the request body limit and the logging set-up.
"""
