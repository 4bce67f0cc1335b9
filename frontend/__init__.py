"""The web frontend (Flask + Socket.IO); arrives with its own issue."""
