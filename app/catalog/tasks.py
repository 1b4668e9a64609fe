"""Catalog jobs, registered with the worker: bulk imports."""

from app.catalog.imports import run_import

__all__ = ["run_import"]
