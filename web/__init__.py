"""The web app: JSON API under /api/v1 and htmx pages; talks to Temporal only through its client."""
