"""Reading shell commands in pipelines: which lines push an image (and which image), and what
evidence a command leaves (signature by digest or tag, keyless or key, provenance, SBOM, scan
that can fail the build)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.slsa import Cmd, _commands, _words, find_evidence, find_pushes
from kubeward.source import FileKind, Pos, SourceFile, Span

_F = SourceFile("x.yml", "x.yml", FileKind.GHA_WORKFLOW, "")
_SPAN = Span("x.yml", Pos(1, 1, 0), Pos(1, 2, 1))


def _cmd(text: str, can_fail: bool = True) -> Cmd:
    return Cmd(_F, "job", _SPAN, text, None, {}, can_fail)


@pytest.mark.parametrize(
    ("script", "how", "image"),
    [
        ("docker push ghcr.io/a/b:1", "docker push", "ghcr.io/a/b:1"),
        ("docker image push --quiet ghcr.io/a/b:1", "docker push", "ghcr.io/a/b:1"),
        ("sudo podman push quay.io/a/b:1", "podman push", "quay.io/a/b:1"),
        ("buildah push --tls-verify quay.io/a/b:1", "buildah push", "quay.io/a/b:1"),
        ("docker buildx build --push -t ghcr.io/a/b:1 .", "docker build --push", "ghcr.io/a/b:1"),
        (
            "docker buildx build --output type=image,push=true -t r/a:1 .",
            "docker build --push",
            "r/a:1",
        ),
        ("/kaniko/executor --context . --destination r.io/a:1", "kaniko", "r.io/a:1"),
        ("ko build ./cmd/app", "ko build", "$KO_DOCKER_REPO"),
        ("crane push image.tar ghcr.io/a/b:1", "crane push", "ghcr.io/a/b:1"),
        ("crane copy docker.io/a/b:1 ghcr.io/a/b:1", "crane copy", "ghcr.io/a/b:1"),
        ("crane append -f layer.tar -b alpine -t ghcr.io/a/c:1", "crane append", "ghcr.io/a/c:1"),
        ("./mvnw -B compile jib:build -Dimage=ghcr.io/a/b:1", "jib", "ghcr.io/a/b:1"),
        ('IMAGE=x time docker push "$IMAGE"', "docker push", "$IMAGE"),
        ('for t in $TAGS; do\n  docker push "$t"\ndone', "docker push", "$t"),
    ],
)
def test_push_commands(script: str, how: str, image: str) -> None:
    [push] = list(find_pushes(_cmd(script)))
    assert (push.how, push.image) == (how, image)


@pytest.mark.parametrize(
    "script",
    [
        "docker build -t app .",
        "docker buildx build --load -t app .",
        "/kaniko/executor --context . --no-push",
        "ko build --local ./cmd/app",
        "echo docker push is how we ship",
        "docker pull ghcr.io/a/b:1",
        "./gradlew jibDockerBuild",
        "docker push localhost:5000/app:test",
        "crane push app.tar 127.0.0.1:5001/app:e2e",
    ],
)
def test_not_pushes(script: str) -> None:
    assert list(find_pushes(_cmd(script))) == []


def test_cosign_sign_digest_tag_key_and_tlog() -> None:
    [by_digest] = list(
        find_evidence(_cmd("cosign sign --yes -a repo=x r/a@${{ steps.b.outputs.digest }}"))
    )
    assert (by_digest.kind, by_digest.by_digest, by_digest.keyless) == ("sign", True, True)
    [by_tag] = list(find_evidence(_cmd("cosign sign --key cosign.key r/a:1")))
    assert (by_tag.by_digest, by_tag.keyless, by_tag.key) == (False, False, "cosign.key")
    [no_log] = list(find_evidence(_cmd("cosign sign --tlog-upload=false r/a@$D")))
    assert no_log.tlog_off
    continued = 'cosign sign \\\n  -a "sha=${GITHUB_SHA}" \\\n  -y \\\n  "$tag"@${DIGEST}'
    [cont] = list(find_evidence(_cmd(continued)))
    assert cont.by_digest


@pytest.mark.parametrize(
    ("script", "kind", "strong"),
    [
        (
            "cosign attest --yes --type slsaprovenance1 --predicate p.json r/a@$D",
            "provenance",
            True,
        ),
        ("cosign attest --type cyclonedx --predicate s.json r/a@$D", "sbom", True),
        ("cosign attach sbom --sbom s.json r/a@$D", "sbom", True),
        ("syft r/a:1 -o spdx-json > s.json", "sbom", False),
        ("trivy image --format cyclonedx --output s.json r/a:1", "sbom", False),
        ("trivy image --exit-code 1 --severity HIGH r/a:1", "scan", True),
        ("trivy image r/a:1", "scan", False),
        ("trivy image --exit-code 1 r/a:1 || true", "scan", False),
        ("grype r/a:1 --fail-on high || :", "scan", False),
        ("trivy image --exit-code 1 r/a:1\nmake clean || true", "scan", True),
        ("grype r/a:1 --fail-on high", "scan", True),
        ("grype r/a:1", "scan", False),
        ("docker buildx build --push --provenance=mode=max -t r/a:1 .", "provenance", False),
    ],
)
def test_evidence(script: str, kind: str, strong: bool) -> None:
    got = [e for e in find_evidence(_cmd(script)) if e.kind == kind]
    assert [e.strong for e in got] == [strong]


def test_scan_in_a_job_allowed_to_fail_cannot_fail_the_build() -> None:
    [e] = list(find_evidence(_cmd("trivy image --exit-code 1 r/a:1", can_fail=False)))
    assert not e.strong


def test_commands_split_and_keep_offsets() -> None:
    text = "set -e\ndocker build . && docker push r/a:1; echo done"
    got = [(off, cmd) for off, cmd in _commands(text)]
    assert got == [
        (0, "set -e"),
        (7, "docker build ."),
        (25, "docker push r/a:1"),
        (44, "echo done"),
    ]
    for off, cmd in got:
        assert text[off:].startswith(cmd)


def test_github_expressions_are_single_words() -> None:
    assert _words("cosign sign r/a@${{ steps.b.outputs.digest }}") == [
        "cosign",
        "sign",
        "r/a@${{steps.b.outputs.digest}}",
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("docker push cosign sign trivy '\"\\$@{}|&;\n\t-=./:")),
        max_size=80,
    )
)
def test_arbitrary_scripts_never_crash(text: str) -> None:
    c = _cmd(text)
    list(find_pushes(c))
    list(find_evidence(c))
