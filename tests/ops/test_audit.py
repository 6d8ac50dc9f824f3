"""The dependency audit's verdict: a vulnerability fails CI, silence is not a pass."""

from ops.audit import summarise

NOT_FOUND = "Dependency not found on PyPI and could not be audited: {} ({})"


def test_a_known_vulnerability_fails_with_its_fix():
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.1", "vulns": []},
            {
                "name": "urllib3",
                "version": "2.0.0",
                "vulns": [
                    {
                        "id": "PYSEC-2023-212",
                        "fix_versions": ["2.0.7"],
                        "aliases": ["CVE-2023-45803"],
                        "description": "body not stripped on redirect",
                    }
                ],
            },
        ],
        "fixes": [],
    }

    lines, status = summarise(report)

    assert status == 1
    assert lines[0] == (
        "VULNERABLE urllib3 2.0.0: PYSEC-2023-212 (CVE-2023-45803); fixed in 2.0.7"
    )
    assert "2 packages audited, 0 not audited, 1 known vulnerabilities" in lines[1]


def test_nothing_audited_passes_but_says_so():
    report = {
        "dependencies": [
            {"name": name, "skip_reason": NOT_FOUND.format(name, "1.0")}
            for name in ("anyio", "asgiref", "django")
        ]
    }

    lines, status = summarise(report)

    assert status == 0
    assert lines[0].endswith(
        "0 packages audited, 3 not audited, 0 known vulnerabilities"
    )
    assert lines[1] == (
        "  not audited (3): Dependency not found on PyPI and could not be audited"
    )
    assert "WARNING: nothing was audited" in lines[2]


def test_the_packages_not_audited_are_named():
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.9", "vulns": []},
            {"name": "segno", "skip_reason": NOT_FOUND.format("segno", "1.6.6")},
            {"name": "ourapp", "skip_reason": "Dependency not on PyPI: editable"},
        ]
    }

    lines, status = summarise(report)

    assert status == 0
    assert "1 packages audited, 2 not audited" in lines[0]
    assert "  not audited: ourapp, segno" in lines
    assert not any("WARNING" in line for line in lines)
