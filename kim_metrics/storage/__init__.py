# The IMA tables are declared on db.Base in their own module; importing it here puts them in
# Base.metadata wherever storage is used (the backup takes its tables from there).
from kim_metrics.storage import ima as _ima  # noqa: F401
