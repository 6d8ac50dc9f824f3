"""Import of customer portfolios: one parser per file format, one shared writer.

A parser (`customers.importers.<format>.parse`) reads and validates files and
returns plain rows; `customers.importers.writer.import_portfolio` writes them in
bulk and in one transaction. docs/IMPORT.md documents the formats.
"""

from customers.importers import csv, ibm_ar, uci_credit_default

# --format value -> parser module (with `parse` and `DEFAULT_CREDITOR`).
FORMATS = {
    "csv": csv,
    "ibm-ar": ibm_ar,
    "uci-credit-default": uci_credit_default,
}
