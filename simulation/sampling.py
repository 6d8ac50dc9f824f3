"""A seeded sample of a portfolio file's debtors, in the file's own format, so
that the importer reads it exactly as it reads the whole file."""

import csv
import random
from pathlib import Path

# Format → (header lines above the rows, the column naming the debtor).
LAYOUT = {"ibm-ar": (1, "customerID"), "uci-credit-default": (2, "ID")}


def sample_portfolio(path: Path, format: str, *, size: int, seed: int, out: Path):
    """Write the rows of `size` debtors drawn at random to `out`."""
    if format not in LAYOUT:
        raise ValueError(f"--sample is not available for format {format!r}")
    headers, column = LAYOUT[format]
    with open(path, newline="", encoding="utf-8-sig") as handle:
        lines = list(csv.reader(handle))
    head, rows = lines[:headers], lines[headers:]
    index = head[-1].index(column)
    debtors = sorted({row[index] for row in rows if row})
    chosen = set(random.Random(seed).sample(debtors, min(size, len(debtors))))
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerows(head)
        writer.writerows(row for row in rows if row and row[index] in chosen)
    return out
