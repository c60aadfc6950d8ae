"""The clinic's records: SQLAlchemy models, Alembic migrations and keyword-only repositories.

A shell: it stores what people and the core produced and never computes a clinical value itself.
Every change goes through :mod:`ertplan.store.repositories`, which writes the audit log in the same
transaction and refuses a stale version with :class:`ertplan.core.errors.ConflictError`.
"""
