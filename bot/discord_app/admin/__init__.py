"""The ``/kb`` commands, one module per concern, composed into one command group by ``cogs/admin.py``."""
