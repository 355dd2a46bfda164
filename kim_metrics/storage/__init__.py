"""Storage: the database's tables, the saves and reads on them, audit and backup."""

# Every table must be on db.Base.metadata whatever a process imports first: backup and restore
# take their list of tables from it.
from kim_metrics.storage import messages as _messages  # noqa: F401
