"""The store: SQLAlchemy models, engine set-up, and the functions every stage reads and writes with."""
