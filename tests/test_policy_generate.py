"""`kubeward policy generate` through the real CLI, on a repository written here: the policy
names exactly the images its workloads run that a pipeline signs keyless, with that pipeline's
identity; the others are listed and left out; kubeward's own scan of the tree with the policy
added finds the policy clean and every covered image covered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.policy import policy_controller
from kubeward.policy.identity import compile_regexp
from tests.conftest import REPO

HANG_GUARD = 120
DIGEST = "@sha256:" + "1" * 64
RELEASE = """\
name: release
on:
  push:
    branches: [main]
    tags: ["v*"]
  pull_request:
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      packages: write
      id-token: write
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - id: build
        run: |
          docker build -t ghcr.io/${{ github.repository }}:${GITHUB_SHA} .
          docker push ghcr.io/${{ github.repository }}:${GITHUB_SHA}
      - run: cosign sign --yes "ghcr.io/${{ github.repository }}@${{ steps.build.outputs.digest }}"
      - run: |
          docker build -t ghcr.io/acme/worker:${GITHUB_SHA} worker
          docker push ghcr.io/acme/worker:${GITHUB_SHA}
      - run: |
          docker build -t ghcr.io/acme/keyed:${GITHUB_SHA} keyed
          docker push ghcr.io/acme/keyed:${GITHUB_SHA}
          cosign sign --yes --key env://COSIGN_KEY ghcr.io/acme/keyed:${GITHUB_SHA}
"""
NIGHTLY = """\
name: nightly
on:
  push:
    branches: [main]
permissions: {}
jobs:
  tools:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      packages: write
      id-token: write
    steps:
      - id: push
        run: |
          docker build -t ghcr.io/acme/tools:nightly .
          docker push ghcr.io/acme/tools:nightly
      - run: cosign sign --yes ghcr.io/acme/tools@${{ steps.push.outputs.digest }}
"""
PREVIEW = """\
name: preview
on: [pull_request]
permissions: {}
jobs:
  preview:
    runs-on: ubuntu-latest
    permissions:
      packages: write
      id-token: write
    steps:
      - id: push
        run: |
          docker build -t ghcr.io/acme/preview:pr .
          docker push ghcr.io/acme/preview:pr
      - run: cosign sign --yes ghcr.io/acme/preview@${{ steps.push.outputs.digest }}
"""
IMAGES = {
    "shop": f"ghcr.io/acme/shop:1.4.2{DIGEST}",
    "tools": f"ghcr.io/acme/tools:nightly{DIGEST}",
    "worker": f"ghcr.io/acme/worker:1.0{DIGEST}",
    "keyed": f"ghcr.io/acme/keyed:1.0{DIGEST}",
    "preview": f"ghcr.io/acme/preview:pr{DIGEST}",
    "nginx": f"nginx:1.27{DIGEST}",
}
COVERED = {"ghcr.io/acme/shop", "ghcr.io/acme/tools"}
UNCOVERED = {
    "ghcr.io/acme/worker": "never signed",
    "ghcr.io/acme/keyed": "signed with a key (env://COSIGN_KEY",
    "ghcr.io/acme/preview": "signed only in pull-request runs of .github/workflows/preview.yml",
    "docker.io/library/nginx": "no pipeline in the scan pushes and signs it",
}
SHOP_SUBJECT = (
    r"^https://github\.com/acme/shop/\.github/workflows/release\.yml@"
    r"(?:refs/heads/main|refs/tags/v[^/]*)$"
)
TOOLS_SUBJECT = "https://github.com/acme/shop/.github/workflows/nightly.yml@refs/heads/main"


def kubeward(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubeward", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        timeout=HANG_GUARD,
        check=False,
    )


def write_tree(root: Path, *, tools_workflow: str = NIGHTLY) -> Path:
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "release.yml").write_text(RELEASE)
    (workflows / "nightly.yml").write_text(tools_workflow)
    (workflows / "preview.yml").write_text(PREVIEW)
    deploy = root / "deploy"
    deploy.mkdir()
    containers = "".join(
        f"        - name: {name}\n          image: {image}\n" for name, image in IMAGES.items()
    )
    (deploy / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\n  namespace: shop\n"
        "spec:\n  template:\n    spec:\n      containers:\n" + containers
    )
    return root


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo")


def generate(root: Path, *args: str) -> tuple[list[dict[str, Any]], str, str]:
    p = kubeward("policy", "generate", str(root), "--repository", "acme/shop", *args)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    docs = [d for d in yaml.safe_load_all(p.stdout) if d is not None]
    return docs, p.stdout, p.stderr


def test_policy_names_exactly_the_signed_images_and_their_identities(tree: Path) -> None:
    docs, text, stderr = generate(tree)
    assert [d["kind"] for d in docs] == [
        "ClusterPolicy",
        "ClusterImagePolicy",
        "ClusterImagePolicy",
    ]
    kyverno, *cips = docs
    issuer = "https://token.actions.githubusercontent.com"
    rekor = {"url": "https://rekor.sigstore.dev"}
    # one rule per signer: the nightly workflow signs tools (one literal ref: an exact
    # subject), the release workflow signs shop (main or a v* tag: an anchored regexp)
    expected = [
        ("nightly-yml", "ghcr.io/acme/tools", {"subject": TOOLS_SUBJECT}),
        ("release-yml", "ghcr.io/acme/shop", {"subjectRegExp": SHOP_SUBJECT}),
    ]
    assert kyverno["apiVersion"] == "kyverno.io/v1"
    assert kyverno["spec"]["validationFailureAction"] == "Enforce"
    rules = kyverno["spec"]["rules"]
    assert [r["name"] for r in rules] == [name for name, _, _ in expected]
    for rule, (_, repo, subject) in zip(rules, expected, strict=True):
        assert rule["match"] == {"any": [{"resources": {"kinds": ["Pod"]}}]}
        (entry,) = rule["verifyImages"]
        assert entry["imageReferences"] == [f"{repo}:*", f"{repo}@*"]
        assert (entry["failureAction"], entry["required"]) == ("Enforce", True)
        assert (entry["verifyDigest"], entry["mutateDigest"]) == (True, True)
        assert entry["attestors"] == [
            {"count": 1, "entries": [{"keyless": {"issuer": issuer, **subject, "rekor": rekor}}]}
        ]
    for cip, (name, repo, subject) in zip(cips, expected, strict=True):
        assert cip["apiVersion"] == "policy.sigstore.dev/v1beta1"
        assert cip["metadata"]["name"] == f"kubeward-verify-images-{name}"
        spec = cip["spec"]
        assert spec["mode"] == "enforce"
        assert spec["images"] == [{"glob": f"{repo}:*"}, {"glob": f"{repo}@*"}]
        for image in spec["images"]:
            policy_controller.compile_glob(image["glob"])  # policy-controller's API accepts it
        assert spec["authorities"] == [
            {
                "name": name,
                "keyless": {
                    "url": "https://fulcio.sigstore.dev",
                    "identities": [{"issuer": issuer, **subject}],
                },
                "ctlog": rekor,
            }
        ]
    for repo, why in UNCOVERED.items():
        assert f"not covered: {repo} (" in stderr and why in stderr, (repo, stderr)
        comment = next(line for line in text.splitlines() if line.startswith(f"#   {repo}  ("))
        assert why in comment
        assert repo not in json.dumps(docs)
    assert "#   ghcr.io/acme/shop  signed by ^https://github" in text


def test_identity_regexp_is_anchored_re2_and_exact(tree: Path) -> None:
    compiled = compile_regexp(SHOP_SUBJECT)
    base = "https://github.com/acme/shop/.github/workflows/release.yml@"
    for ref in ("refs/heads/main", "refs/tags/v1.4.2"):
        assert compiled.search(base + ref), ref
    for san in (
        base + "refs/heads/feature",
        base + "refs/pull/7/merge",
        base + "refs/tags/release/v1",
        base + "refs/heads/main.evil",
        "https://github.com/acme/shop/.github/workflows/preview.yml@refs/heads/main",
        "https://github.com/acme/shopper/.github/workflows/release.yml@refs/heads/main",
        "https://github.com/acme/shop/.github/workflows/releaseXyml@refs/heads/main",
        "prefix " + base + "refs/heads/main",
    ):
        assert not compiled.search(san), san


def test_scan_of_the_tree_with_the_policy(tree: Path) -> None:
    """The policy raises nothing at medium or above, and the coverage rule reports none of
    the covered images (while it still reports those left out)."""
    p = kubeward(
        "policy",
        "generate",
        str(tree),
        "--repository",
        "acme/shop",
        "-o",
        "deploy/policy.yaml",
        cwd=tree,
    )
    assert p.returncode == 0, p.stderr
    scan = kubeward("scan", ".", "-f", "json", "--no-progress", "--fail-on", "never", cwd=tree)
    assert scan.returncode == 0, scan.stderr
    doc = json.loads(scan.stdout)
    assert doc["errors"] == []
    in_policy = [f for f in doc["findings"] if f["location"]["path"] == "deploy/policy.yaml"]
    serious = [f for f in in_policy if f["severity"] in ("medium", "high", "critical")]
    assert serious == [], serious
    uncovered = {
        f["message"].split(":", 1)[0].split("@", 1)[0].rsplit(":", 1)[0]
        for f in doc["findings"]
        if f["rule"] == "image-not-covered-by-verification-policy"
    }
    assert uncovered == {
        "ghcr.io/acme/worker",
        "ghcr.io/acme/keyed",
        "ghcr.io/acme/preview",
        "nginx",
    }, uncovered


def test_without_the_policy_every_image_is_reported(tree: Path) -> None:
    """The control for the test above: the same scan without the policy reports the lot."""
    scan = kubeward("scan", ".", "-f", "json", "--no-progress", "--fail-on", "never", cwd=tree)
    rules = [f["rule"] for f in json.loads(scan.stdout)["findings"]]
    assert "image-not-covered-by-verification-policy" in rules


def test_engine_choice_and_output_file(tree: Path, tmp_path: Path) -> None:
    docs, _, _ = generate(tree, "--engine", "kyverno")
    assert [d["kind"] for d in docs] == ["ClusterPolicy"]
    docs, _, _ = generate(tree, "--engine", "policy-controller", "--name", "shop")
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("ClusterImagePolicy", "shop-nightly-yml"),
        ("ClusterImagePolicy", "shop-release-yml"),
    ]


def test_repository_from_the_git_remote(tree: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tree, check=True, capture_output=True, timeout=60)

    missing = kubeward("policy", "generate", str(tree))
    assert missing.returncode == 2
    assert "no --repository and no git remote 'origin'" in missing.stderr
    git("init", "-q")
    git("remote", "add", "origin", "git@github.com:acme/shop.git")
    p = kubeward("policy", "generate", str(tree))
    assert p.returncode == 0, p.stderr
    assert SHOP_SUBJECT in p.stdout
    git("remote", "set-url", "origin", "https://bitbucket.org/acme/shop.git")
    other = kubeward("policy", "generate", str(tree))
    assert other.returncode == 2
    assert "github.com and gitlab.com only" in other.stderr


@pytest.mark.parametrize(
    ("repository", "message"),
    [
        ("acme", "is not OWNER/REPO"),
        ("github.com/acme/shop/extra", "is not OWNER/REPO"),
        ("acme/sh op", "repository names are letters"),
        ("acme/..", "repository names are letters"),
    ],
)
def test_bad_repository_is_usage(tree: Path, repository: str, message: str) -> None:
    p = kubeward("policy", "generate", str(tree), "--repository", repository)
    assert p.returncode == 2 and message in p.stderr, p.stderr


def test_nothing_coverable_writes_no_policy(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", tools_workflow=PREVIEW.replace("preview", "tools"))
    (root / ".github" / "workflows" / "release.yml").unlink()
    p = kubeward("policy", "generate", str(root), "--repository", "acme/shop")
    assert p.returncode == 0, p.stderr
    assert [d for d in yaml.safe_load_all(p.stdout) if d] == []
    assert "no image could be covered" in p.stderr
    assert "Not covered (6)" in p.stdout


GITLAB_CI = """\
release:
  image: docker:27.3.1@sha256:8dfe8fb8e0b33f0e7ba8e0bc5bd8b2ff89e73ed0b0ee1d4a0bc1c4b9e2de9f6d
  id_tokens:
    SIGSTORE_ID_TOKEN:
      aud: sigstore
  script:
    - docker build -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA .
    - docker push $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA
    - cosign sign --yes $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA
"""


def test_gitlab_pipeline_identity(tmp_path: Path) -> None:
    """GitLab's SAN is https://{ci_config_ref_uri}: the project, '//', the CI file, '@' ref."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".gitlab-ci.yml").write_text(GITLAB_CI)
    (root / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: shop}\nspec:\n  containers:\n"
        f"    - name: shop\n      image: registry.gitlab.com/acme/shop:1{DIGEST}\n"
    )
    p = kubeward("policy", "generate", str(root), "--repository", "gitlab.com/acme/shop")
    assert p.returncode == 0, p.stderr
    kyverno, cip = [d for d in yaml.safe_load_all(p.stdout) if d]
    subject = r"^https://gitlab\.com/acme/shop//\.gitlab\-ci\.yml@(?:refs/heads/.+|refs/tags/.+)$"
    (identity,) = cip["spec"]["authorities"][0]["keyless"]["identities"]
    assert identity == {"issuer": "https://gitlab.com", "subjectRegExp": subject}
    entry = kyverno["spec"]["rules"][0]["verifyImages"][0]
    assert entry["imageReferences"] == [
        "registry.gitlab.com/acme/shop:*",
        "registry.gitlab.com/acme/shop@*",
    ]
    rx = compile_regexp(subject)
    assert rx.search("https://gitlab.com/acme/shop//.gitlab-ci.yml@refs/heads/main")
    assert not rx.search("https://gitlab.com/acme/shop//other.yml@refs/heads/main")


def test_repository_text_cannot_break_the_comment_or_the_terminal(tmp_path: Path) -> None:
    """A key reference holding an escape sequence (a YAML `\\e`), from the scanned workflow,
    reaches neither stderr nor the comment block as a raw control character."""
    root = write_tree(tmp_path / "repo")
    release = root / ".github" / "workflows" / "release.yml"
    text = release.read_text().replace(
        "          cosign sign --yes --key env://COSIGN_KEY ghcr.io/acme/keyed:${GITHUB_SHA}\n",
        '      - run: "cosign sign --yes --key env://K\\e[31mEY'
        ' ghcr.io/acme/keyed:${GITHUB_SHA}"\n',
    )
    assert "\\e[31m" in text
    release.write_text(text)
    p = kubeward("policy", "generate", str(root), "--repository", "acme/shop")
    assert p.returncode == 0, p.stderr
    assert "could not be scanned" not in p.stderr
    line = next(x for x in p.stderr.splitlines() if "ghcr.io/acme/keyed" in x)
    assert "signed with a key (env://K?[31mEY;" in line
    assert "\x1b" not in p.stderr and "\x1b" not in p.stdout
    assert "#   ghcr.io/acme/keyed  (" in p.stdout and "env://K?[31mEY" in p.stdout
