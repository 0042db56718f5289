"""Identity regular expressions follow cosign: Go RE2 syntax, `MatchString` (unanchored);
patterns RE2 rejects, and globs policy-controller rejects, are configuration errors (exit 2)
that name the flag, or the policy file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.policy.identity import InvalidRegexp, anchoring_gaps, compile_regexp, regexp_matches
from kubeward.verify.cli import main

IDENTITY = "https://github.com/acme/shop/.github/workflows/release.yml@refs/tags/v1.0.0"


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("^https://github\\.com/acme/", IDENTITY, True),  # docs/verify.md's example
        ("github\\.com/acme/shop/", IDENTITY, True),  # unanchored: anywhere in the value
        ("acme", "https://github.com/acme-evil/x", True),  # why anchors matter
        ("^https://github\\.com/acme/shop/$", IDENTITY, False),
        ("^x$", "x\n", False),  # Go's `$` is the end of text, not before a final newline
        ("(?i)^HTTPS://GITHUB", IDENTITY, True),
        ("^\\pL+@example\\.com$", "ünï@example.com", True),  # Unicode classes, as Go
        ("a.c", "a\nc", False),  # `.` does not match a newline without (?s)
    ],
)
def test_match_string_semantics(pattern: str, value: str, expected: bool) -> None:
    assert regexp_matches(pattern, value) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "(?<=a)b",  # look-behind: not RE2
        "(a)\\1",  # back-reference: not RE2
        "(?=a)",  # look-ahead
        "[",
        "a{1001}",  # Go's repetition limit is 1000
        "\\C",  # C++ RE2 accepts "any byte", Go does not
    ],
)
def test_invalid_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(InvalidRegexp, match="invalid regular expression"):
        compile_regexp(pattern)


def test_escaped_backslash_before_c_is_fine() -> None:
    assert regexp_matches("\\\\C", "a\\Cb")


@pytest.mark.parametrize("command", ["verify", "verify-bundle"])
@pytest.mark.parametrize(
    "flag", ["--certificate-identity-regexp", "--certificate-oidc-issuer-regexp"]
)
def test_invalid_regexp_flag_is_a_usage_error(
    command: str, flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command]
    if command == "verify-bundle":
        argv += ["--bundle", str(tmp_path / "absent.json")]
    argv += ["--certificate-identity-regexp", "^https://github\\.com/acme/"]
    argv += ["--certificate-oidc-issuer-regexp", "^https://token\\.actions\\."]
    argv[argv.index(flag) + 1] = "(?<=acme)"
    argv.append("sha256:" + "0" * 64 if command == "verify-bundle" else "ghcr.io/acme/app:1")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"{flag}: invalid regular expression '(?<=acme)'" in err, err


POLICY = """\
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: acme
spec:
  images:
    - glob: ghcr.io/acme/**
    - glob: {glob}
  authorities:
    - keyless:
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subject: {subject}
          - issuerRegExp: {issuer_regexp}
            subjectRegExp: {subject_regexp}
"""

GOOD = {
    "glob": "ghcr.io/acme/*",
    "subject": IDENTITY,
    "issuer_regexp": "'^https://token\\.actions\\.githubusercontent\\.com$'",
    "subject_regexp": "'^https://github\\.com/acme/'",
}


def _run_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str], **changes: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.format(**{**GOOD, **changes}))
    assert main(["verify", "ghcr.io/acme/app:1", "--policy", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err.replace(str(path), "policy.yaml")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"glob": "'ghcr.io/acme/[a-z]*'"}, "policy.yaml:8: ClusterImagePolicy acme: invalid glob"),
        ({"glob": "'ghcr.io/acme/{a,b}'"}, "policy.yaml:8: ClusterImagePolicy acme: invalid glob"),
        (
            {"subject_regexp": "'(?<=acme)'"},
            "policy.yaml:15: ClusterImagePolicy acme authority 0 identity 1 subjectRegExp: "
            "invalid regular expression '(?<=acme)'",
        ),
        (
            {"issuer_regexp": "'[unclosed'"},
            "policy.yaml:14: ClusterImagePolicy acme authority 0 identity 1 issuerRegExp: "
            "invalid regular expression '[unclosed'",
        ),
    ],
)
def test_invalid_policy_is_a_configuration_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, str], expected: str
) -> None:
    assert expected in _run_policy(tmp_path, capsys, **changes)


def test_subject_and_subject_regexp_together_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    text = POLICY.format(**GOOD).replace(
        f"subject: {IDENTITY}", f"subject: {IDENTITY}\n            subjectRegExp: acme"
    )
    path.write_text(text)
    assert main(["verify", "ghcr.io/acme/app:1", "--policy", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:14: ClusterImagePolicy acme authority 0 identity 0 sets both subject" in err


START = "not anchored at the start with ^"
END = "open at the end (no $ after a name)"


@pytest.mark.parametrize(
    ("pattern", "gaps"),
    [
        ("^https://github\\.com/acme/", ()),
        ("^https://github\\.com/acme/.*$", ()),
        ("\\Ahttps://github\\.com/acme/x\\z", ()),
        ("(?i)^https://github\\.com/acme/", ()),
        ("^(release|ops)@acme\\.example$", ()),
        ("(^release@acme\\.example$|^ops@acme\\.example$)", ()),
        ("^(?:release|ops)@acme\\.example$", ()),
        ("^https://github\\.com/acme/[a-z]", ()),  # a class at the end: deliberate
        ("github\\.com/acme/", (START,)),
        ("^a$|b$", (START,)),  # `^` binds to the first alternative only
        ("^https://github\\.com/acme", (END,)),  # acme-evil
        ("^alice@example\\.com", (END,)),  # alice@example.com.attacker.example
        ("^https://github\\.com/(acme|tools)", (END,)),
        ("^x\\$", ()),  # an escaped `$` is a literal, not a name character
        ("token\\.actions\\.githubusercontent\\.com", (START, END)),
        ("^[$]acme", (END,)),  # a `$` inside a class anchors nothing
    ],
)
def test_anchoring_gaps(pattern: str, gaps: tuple[str, ...]) -> None:
    assert anchoring_gaps(pattern) == gaps
