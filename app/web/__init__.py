"""The web client: the built single-page app (viewer feed, creator studio, merchant console,
admin) served by the API process itself, plus the development-only demo payment route."""
