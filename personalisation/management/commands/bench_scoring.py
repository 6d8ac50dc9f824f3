"""Time training on N rows and batched propensity scoring (docs/MODELS.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from personalisation import bench
from personalisation.management.commands.train_models import data_file


class Command(BaseCommand):
    help = (
        "Train the propensity pipeline on N rows resampled from the Taiwan file "
        "and score them in batches; prints the training time and rows scored "
        "per second."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument(
            "--batch", type=int, default=10_000, help="Rows per model call"
        )
        parser.add_argument("--file", type=Path, help="Instead of ../shared/data")

    def handle(self, *args, rows, batch, file, **options):
        path = file or data_file("taiwan")
        if not path.exists():
            raise CommandError(f"{path} not found")
        if rows < 100 or batch < 1:
            raise CommandError("--rows must be at least 100 and --batch at least 1")
        result = bench.run(path, rows=rows, batch=batch)
        self.stdout.write(
            f"training on {result.rows} rows: {result.train_seconds:.1f} s"
        )
        self.stdout.write(
            f"scoring {result.rows} rows in batches of {result.batch}: "
            f"{result.score_seconds:.2f} s, "
            f"{result.scored_per_second:,.0f} rows/s"
        )
