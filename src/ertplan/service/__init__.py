"""The REST service: FastAPI routers over the store and the same core functions as the CLI.

:func:`ertplan.service.app.create_app` builds the application; ``ertplan serve`` runs it.
"""
