from pathlib import Path

from django.core.management.base import BaseCommand

from replies import classifier


class Command(BaseCommand):
    help = (
        "Train the reply intent classifier on the labelled set: report accuracy "
        "on a stratified held-out share, then save a model fitted on all of it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--test-share",
            type=float,
            default=0.25,
            help="share of the labelled replies held out for the report (0.25)",
        )
        parser.add_argument(
            "--output", help="where to save the model (default: REPLIES_MODEL_PATH)"
        )

    def handle(self, *args, **options):
        rows = classifier.load_labelled()
        version = classifier.data_version()
        self.stdout.write(f"{len(rows)} labelled replies, {version}")

        held_out = classifier.evaluate(rows, test_share=options["test_share"])
        folds = classifier.cross_validated_accuracy(rows)
        languages = ", ".join(
            f"{language} {accuracy:.3f}"
            for language, accuracy in held_out.accuracy_by_language.items()
        )
        self.stdout.write(
            f"held-out accuracy: {held_out.accuracy:.3f} "
            f"({held_out.test_size} replies; {languages})"
        )
        self.stdout.write(held_out.report)
        self.stdout.write(
            f"5-fold accuracy: mean {sum(folds) / len(folds):.3f}, "
            f"min {min(folds):.3f}, max {max(folds):.3f}"
        )

        path = Path(options["output"] or classifier.model_path())
        bundle = classifier.train(rows, version=version, accuracy=held_out.accuracy)
        classifier.save(bundle, path)
        self.stdout.write(f"saved {path}")
