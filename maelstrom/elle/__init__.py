"""Elle-style transactional checkers (Kingsbury & Alvaro, VLDB 2020), pure functions of a history.

`check_list_append` judges txn-list-append histories and `check_rw_register`
txn-rw-register ones; both return ``{"valid", "anomaly_types", "anomalies",
"not", "also_not", "explanations", ...}``.
"""

from maelstrom.elle.list_append import check_list_append
from maelstrom.elle.models import UnknownModel
from maelstrom.elle.rw_register import check_rw_register
from maelstrom.elle.txn import ElleError

__all__ = ["ElleError", "UnknownModel", "check_list_append", "check_rw_register"]
