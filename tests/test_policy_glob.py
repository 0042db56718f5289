"""policy-controller's image globs, against policy-controller's own test table.

`UPSTREAM` is the table of `TestGlobMatch` in `pkg/apis/glob/glob_test.go` of
github.com/sigstore/policy-controller (commit f925c0c1a412910787a7f045581fa9d5ed09a20a), row
for row: (image, glob, wantMatch, wantErr). `glob_match` is upstream's `Match`; the scan's
coverage rule and `verify --policy` both select with `selects`, which is what the admission
webhook does (it passes the image's full name, so the text-as-written fallback never applies).
"""

from __future__ import annotations

import pytest

from kubeward.model.image import parse_image
from kubeward.policy.policy_controller import (
    InvalidGlob,
    compile_glob,
    glob_match,
    reference_name,
    selects,
)

DIGEST = "sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350"

UPSTREAM: list[tuple[str, str, bool, bool]] = [
    ("foo", "index.docker.io/library/foo:latest", True, False),
    ("foo", "index.docker.io/library/foo:*", True, False),
    ("foo", "index.docker.io/library/*", True, False),
    ("foo", "index.docker.io/library/*:latest", True, False),
    ("foo", "index.docker.io/*/*", True, False),
    ("foo", "index.docker.io/**", True, False),
    ("foo", "index.docker.**", True, False),
    ("foo", "inde**", True, False),
    ("foo", "**", True, False),
    ("foo", "foo", True, False),  # the deprecated fallback to the text as written
    ("foo", "foo*", True, False),
    ("foo", "foo**", True, False),
    ("myuser/myapp", "index.docker.io/myuser/myapp:latest", True, False),
    ("myuser/myapp", "index.docker.io/myuser/myapp:*", True, False),
    ("myuser/myapp", "index.docker.io/myuser/*", True, False),
    ("myuser/myapp", "index.docker.io/myuser/*:latest", True, False),
    ("myuser/myapp", "index.docker.io/*/*", True, False),
    ("myuser/myapp", "index.docker.io/**", True, False),
    ("myuser/myapp", "index.docker.**", True, False),
    ("myuser/myapp", "inde**", True, False),
    ("myuser/myapp", "**", True, False),
    ("myuser/myapp", "myuser/myapp", True, False),  # fallback
    ("myuser/myapp", "myuser/myapp*", True, False),
    ("myuser/myapp", "myuser/myapp**", True, False),
    ("ghcr.io/foo/bar", "ghcr.io/*/*", True, False),
    ("ghcr.io/foo/bar", "ghcr.io/**", True, False),
    ("ghcr.io/foo", "ghcr.io/*/*", False, False),
    ("ghcr.io/foo", "ghcr.io/**", True, False),
    ("ghcr.io/foo", "ghc**", True, False),
    ("ghcr.io/foo", "**", True, False),
    ("ghcr.io/foo", "*/**", True, False),
    ("ghcr.io/foo", "ghcr.io/foo*", True, False),
    ("ghcr.io/foo", "ghcr.io/foo**", True, False),
    ("prefix-ghcr.io/foo", "ghcr.io/foo", False, False),
    ("ghcr.io/foo-suffix", "ghcr.io/foo", False, False),
    ("ghcrxio/foo", "ghcr.io/**", False, False),
    ("invalid&name", "**", False, True),
    ("invalid-glob", ".+", False, True),
    ("invalid-glob", "[a-z]*", False, True),
    ("foo", "*", True, False),
    ("myuser/myapp", "*/*", True, False),
    (f"ghcr.io/foo@{DIGEST}", f"ghcr.io/foo@{DIGEST}", True, False),
]


@pytest.mark.parametrize(("image", "glob", "want_match", "want_err"), UPSTREAM)
def test_upstream_glob_table(image: str, glob: str, want_match: bool, want_err: bool) -> None:
    try:
        got = glob_match(glob, image)
    except ValueError:
        assert want_err, f"{glob!r} against {image!r} must not be an error"
        return
    assert not want_err, f"{glob!r} against {image!r} must be an error"
    assert got is want_match


# Where admission differs from `Match`: the webhook matches `ref.Name()` only.
ADMISSION = [
    ("foo", "foo", False),
    ("myuser/myapp", "myuser/myapp", False),
    ("foo", "foo*", False),
    ("foo", "index.docker.io/library/foo:latest", True),
    ("ghcr.io/acme/team/api:1", "ghcr.io/acme/*", False),  # '*' stops at '/'
    ("ghcr.io/acme/api:1", "ghcr.io/acme/*", True),  # and crosses ':'
    ("ghcr.io/acme/team/api:1", "ghcr.io/acme/**", True),
    ("ghcr.io/acme/api:1.2", "ghcr.io/acme/api:*", True),  # tag globs select tagged images
    ("ghcr.io/acme/api", "ghcr.io/acme/api:*", True),  # `:latest` is implied
    (f"ghcr.io/acme/api@{DIGEST}", "ghcr.io/acme/api:*", False),  # a digest has no tag
    (f"ghcr.io/acme/api:1@{DIGEST}", "ghcr.io/acme/api:*", False),  # tag@digest: digest kept
    (f"ghcr.io/acme/api:1@{DIGEST}", "ghcr.io/acme/api@sha256:*", True),
    ("docker.io/library/nginx:1.27", "index.docker.io/library/nginx:*", True),
    ("nginx:1.27", "docker.io/library/nginx:*", False),  # Docker Hub is index.docker.io
    ("localhost:5000/app:1", "localhost:5000/*", True),
    ("ghcr.io/acme/api:1", "ghcr.io/acme/[a-z]*", False),  # invalid: selects nothing
    ("{{ .Values.image }}", "**", False),  # not a literal reference
]


@pytest.mark.parametrize(("image", "glob", "expected"), ADMISSION)
def test_admission_selection(image: str, glob: str, expected: bool) -> None:
    assert selects(glob, parse_image(image)) is expected


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("nginx", "index.docker.io/library/nginx:latest"),
        ("docker.io/acme/app:1", "index.docker.io/acme/app:1"),
        ("registry-1.docker.io/acme/app:1", "index.docker.io/acme/app:1"),
        (f"ghcr.io/a/b:1@{DIGEST}", f"ghcr.io/a/b@{DIGEST}"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest"),
    ],
)
def test_reference_name(image: str, name: str) -> None:
    assert reference_name(parse_image(image)) == name


@pytest.mark.parametrize("glob", ["", ".+", "[a-z]*", "ghcr.io/acme/{a,b}", "ghcr.io/a b", "a?b"])
def test_invalid_globs_are_rejected(glob: str) -> None:
    with pytest.raises(InvalidGlob, match="invalid glob"):
        compile_glob(glob)
