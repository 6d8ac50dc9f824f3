"""The dependency audit of CI: pip-audit over the installed environment, read back.

`python -m ops.audit` runs pip-audit on the virtual environment it runs in (every
installed package, the pins' own dependencies included) and prints one line per
known vulnerability and a summary. It fails on a vulnerability. A package the
advisory service could not answer for is counted and named, not passed over in
silence: when none was audited the summary says so in as many words, because
"no known vulnerabilities" then means nothing was checked (a machine whose network
reaches the package index but not its JSON API answers "not found" for every
package).
"""

import json
import subprocess
import sys
from collections import Counter


def summarise(report: dict) -> tuple[list[str], int]:
    """The lines to print for a pip-audit JSON report, and the exit status."""
    audited, skipped, lines = [], [], []
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            skipped.append(dependency)
            continue
        audited.append(dependency)
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version"
            aliases = ", ".join(vuln.get("aliases") or [])
            lines.append(
                f"VULNERABLE {dependency['name']} {dependency.get('version', '?')}: "
                f"{vuln['id']}{f' ({aliases})' if aliases else ''}; fixed in {fixes}"
            )
    vulnerable = len(lines)
    lines.append(
        f"pip-audit: {len(audited)} packages audited, {len(skipped)} not audited, "
        f"{vulnerable} known vulnerabilities"
    )
    reasons = Counter(_reason_kind(d["skip_reason"]) for d in skipped)
    for reason, count in reasons.most_common():
        lines.append(f"  not audited ({count}): {reason}")
    if skipped and not audited:
        lines.append(
            "  WARNING: nothing was audited; the advisory service answered for no "
            "package. Run `make audit` where it is reachable (docs/SECURITY.md)."
        )
    elif skipped:
        names = ", ".join(sorted(d["name"] for d in skipped))
        lines.append(f"  not audited: {names}")
    return lines, 1 if vulnerable else 0


def _reason_kind(reason: str) -> str:
    """The reason without the package it names, so that equal reasons count together."""
    return reason.split(":", 1)[0].strip()


def main(argv: list[str]) -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--progress-spinner",
        "off",
        "--format",
        "json",
        *argv,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        # pip-audit itself failed (no network at all, a broken environment): say
        # what it said and fail, an audit that did not run is no pass.
        sys.stderr.write(done.stderr or done.stdout)
        print(f"pip-audit did not run (exit status {done.returncode})")
        return 2
    lines, status = summarise(report)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
