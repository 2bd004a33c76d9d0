"""The work behind the routes, shared by the API and the pages."""
