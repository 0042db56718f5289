"""slsa-verifier's builder identities, build types, builder-ID matching, git refs and semver.

Constants are copied from slsa-framework/slsa-verifier @ aaf98fd (files cited at each); the
code is kubeward's own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from kubeward.verify._errors import VerificationError

# verifiers/internal/gha/slsaprovenance/common/builders.go
_GENERATOR_REPO = "https://github.com/slsa-framework/slsa-github-generator"
GENERATOR_WORKFLOWS = _GENERATOR_REPO + "/.github/workflows/"
GENERIC_GENERATOR = GENERATOR_WORKFLOWS + "generator_generic_slsa3.yml"
CONTAINER_GENERATOR = GENERATOR_WORKFLOWS + "generator_container_slsa3.yml"
GO_BUILDER = GENERATOR_WORKFLOWS + "builder_go_slsa3.yml"
CONTAINER_BASED_BUILDER = GENERATOR_WORKFLOWS + "builder_container-based_slsa3.yml"
GENERIC_DELEGATOR = GENERATOR_WORKFLOWS + "delegator_generic_slsa3.yml"
LOWPERMS_DELEGATOR = GENERATOR_WORKFLOWS + "delegator_lowperms-generic_slsa3.yml"
NPM_CLI_LEGACY_BUILDER = "https://github.com/actions/runner"
NPM_CLI_HOSTED_BUILDER = NPM_CLI_LEGACY_BUILDER + "/github-hosted"
NPM_CLI_SELF_HOSTED_BUILDER = NPM_CLI_LEGACY_BUILDER + "/self-hosted"
BCR_RELEASER = "https://github.com/bazel-contrib/.github/.github/workflows/release_ruleset.yaml"
BCR_PUBLISHER = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml"

# verifiers/internal/gha/builder.go: the default trusted reusable workflows.
DEFAULT_ARTIFACT_BUILDERS = frozenset({GENERIC_GENERATOR, GO_BUILDER, CONTAINER_BASED_BUILDER})
DEFAULT_CONTAINER_BUILDERS = frozenset({CONTAINER_GENERATOR})
DELEGATOR_BUILDERS = frozenset({GENERIC_DELEGATOR, LOWPERMS_DELEGATOR})
"""BYOB: the certificate names one of these; the real builder is in the provenance."""
TRUSTED_BUILDER_REPOSITORY = "slsa-framework/slsa-github-generator"
E2E_TEST_REPOSITORY = "slsa-framework/example-package"
JRELEASER_REPOSITORY = "https://github.com/jreleaser/release-action"

# verifiers/internal/gha/slsaprovenance/common/buildtypes.go
BYOB_BUILD_TYPE_V0 = "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0"
CONTAINER_BASED_BUILD_TYPE = "https://slsa.dev/container-based-build/v0.1?draft"
GO_BUILD_TYPE_V1 = "https://github.com/slsa-framework/slsa-github-generator/go@v1"
GENERIC_BUILD_TYPE_V1 = "https://github.com/slsa-framework/slsa-github-generator/generic@v1"
CONTAINER_BUILD_TYPE_V1 = "https://github.com/slsa-framework/slsa-github-generator/container@v1"
NPM_CLI_BUILD_TYPE_V1 = "https://github.com/npm/cli/gha@v1"
NPM_CLI_BUILD_TYPE_V2 = "https://github.com/npm/cli/gha/v2"
NPM_CLI_GHA_BUILD_TYPE_V1 = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
GITHUB_ACTIONS_BUILD_TYPE_V1 = "https://actions.github.io/buildtypes/workflow/v1"
LEGACY_GO_BUILD_TYPE_V1 = "https://github.com/slsa-framework/slsa-github-generator-go@v1"
LEGACY_BUILD_TYPE_V1 = "https://github.com/slsa-framework/slsa-github-generator@v1"

PROVENANCE_V02 = "https://slsa.dev/provenance/v0.2"
PROVENANCE_V1 = "https://slsa.dev/provenance/v1"

# Which provenance shape each (builder, buildType) has: slsaprovenance/v0.2/provenance.go and
# slsaprovenance/v1.0/provenance.go (`buildTypeMap`). "legacy" is v0.2's base provenance,
# "byob" the delegator's, "base" v1's, "npm" and "attest" read the trigger from
# externalParameters.workflow.
BUILD_TYPES_V02: dict[str, dict[str, str]] = {
    GENERIC_DELEGATOR: {BYOB_BUILD_TYPE_V0: "byob"},
    LOWPERMS_DELEGATOR: {BYOB_BUILD_TYPE_V0: "byob"},
    GO_BUILDER: {
        GO_BUILD_TYPE_V1: "legacy",
        LEGACY_BUILD_TYPE_V1: "legacy",
        LEGACY_GO_BUILD_TYPE_V1: "legacy",
    },
    GENERIC_GENERATOR: {GENERIC_BUILD_TYPE_V1: "legacy"},
    CONTAINER_GENERATOR: {CONTAINER_BUILD_TYPE_V1: "legacy"},
    NPM_CLI_LEGACY_BUILDER: {NPM_CLI_BUILD_TYPE_V1: "legacy", NPM_CLI_BUILD_TYPE_V2: "legacy"},
    NPM_CLI_HOSTED_BUILDER: {NPM_CLI_BUILD_TYPE_V1: "legacy", NPM_CLI_BUILD_TYPE_V2: "legacy"},
}
BUILD_TYPES_V1: dict[str, dict[str, str]] = {
    GENERIC_DELEGATOR: {BYOB_BUILD_TYPE_V0: "byob"},
    LOWPERMS_DELEGATOR: {BYOB_BUILD_TYPE_V0: "byob"},
    CONTAINER_BASED_BUILDER: {CONTAINER_BASED_BUILD_TYPE: "base"},
    NPM_CLI_HOSTED_BUILDER: {NPM_CLI_GHA_BUILD_TYPE_V1: "npm"},
    BCR_RELEASER: {GITHUB_ACTIONS_BUILD_TYPE_V1: "attest"},
    BCR_PUBLISHER: {GITHUB_ACTIONS_BUILD_TYPE_V1: "attest"},
}


def err(kind: str, reason: str) -> VerificationError:
    return VerificationError(reason, kind=kind)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_json(data: str | bytes, *, what: str, kind: str) -> Any:
    """json.loads for attacker-supplied documents: one clear error for anything malformed.

    Deep nesting (RecursionError), NaN/Infinity and undecodable bytes all become a
    `VerificationError` of `kind` naming `what`.
    """
    try:
        return json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise err(kind, f"{what} is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise err(kind, f"{what} is not valid JSON: {exc}") from None


@dataclass(frozen=True)
class BuilderID:
    """A builder ID `name[@version]` (verifiers/utils/builder.go `TrustedBuilderID`)."""

    name: str
    version: str = ""

    @classmethod
    def parse(cls, builder_id: str, *, need_version: bool) -> BuilderID:
        parts = builder_id.split("@")
        if len(parts) == 2:
            if not parts[1]:
                raise err("ErrorInvalidFormat", f"builder ID {builder_id!r} has an empty version")
            return cls(parts[0], parts[1])
        if len(parts) == 1 and not need_version:
            return cls(parts[0])
        raise err("ErrorInvalidFormat", f"builder ID {builder_id!r} is not name@version")

    def __str__(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name

    def matches(self, expected: str, *, full: bool, allow_ref: bool) -> None:
        """Raise ErrorMismatchBuilderID unless `expected` names this builder.

        Loose (`full=False`): the version is compared only when `expected` has one.
        """
        want = BuilderID.parse(expected, need_version=False)
        if want.name != self.name:
            raise err(
                "ErrorMismatchBuilderID", f"builder {self.name!r} is not the expected {want.name!r}"
            )
        if (full or want.version) and want.version != self.version:
            if allow_ref and "refs/tags/" + want.version == self.version:
                return
            raise err(
                "ErrorMismatchBuilderID",
                f"builder version {self.version!r} is not the expected {want.version!r}",
            )


# --- semver, as golang.org/x/mod/semver --------------------------------------------------------
_IDENT = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_NUM = r"0|[1-9][0-9]*"
_SEMVER = re.compile(rf"^v({_NUM})(?:\.({_NUM})(?:\.({_NUM})(?:-({_IDENT}))?(?:\+({_IDENT}))?)?)?$")


def _semver(v: str) -> re.Match[str] | None:
    m = _SEMVER.match(v)
    if m is None:
        return None
    if m.group(4) is not None:
        for ident in m.group(4).split("."):
            if ident.isdigit() and len(ident) > 1 and ident[0] == "0":
                return None
    return m


def semver_valid(v: str) -> bool:
    return _semver(v) is not None


def semver_canonical(v: str) -> str:
    """`v1` -> `v1.0.0`, keeps the prerelease, drops the build; "" when invalid."""
    m = _semver(v)
    if m is None:
        return ""
    core = f"v{m.group(1)}.{m.group(2) or '0'}.{m.group(3) or '0'}"
    return core + (f"-{m.group(4)}" if m.group(4) else "")


def semver_prerelease(v: str) -> str:
    m = _semver(v)
    return f"-{m.group(4)}" if m is not None and m.group(4) else ""


def semver_build(v: str) -> str:
    m = _semver(v)
    return f"+{m.group(5)}" if m is not None and m.group(5) else ""


# --- git refs (verifiers/utils/git.go) ---------------------------------------------------------
def normalize_git_uri(uri: str) -> str:
    if uri.startswith("git+"):
        return uri
    return "git+" + uri if "://" in uri else "git+https://" + uri


def parse_git_uri_and_ref(uri: str) -> tuple[str, str]:
    if not uri:
        raise err("ErrorMalformedURI", "empty git URI")
    if not uri.startswith("git+"):
        raise err("ErrorMalformedURI", f"not a git URI: {uri!r}")
    base, _, ref = uri.partition("@")
    return base, ref


def parse_git_ref(ref: str) -> tuple[str, str]:
    parts = ref.split("/", 2)
    if len(parts) < 3 or parts[0] != "refs":
        return "", ref
    return parts[1], parts[2]


def _ref_name(ref_type: str, ref: str) -> str:
    typ, name = parse_git_ref(ref)
    if typ != ref_type:
        raise err("ErrorInvalidRef", f"{ref or 'no ref'!r} is not a {ref_type} ref")
    if not name:
        raise err("ErrorInvalidRef", f"{ref!r} has an empty name")
    return name


def tag_from_ref(ref: str) -> str:
    return _ref_name("tags", ref)


def branch_from_ref(ref: str) -> str:
    return _ref_name("heads", ref)


def valid_builder_tag(ref: str, *, testing: bool) -> None:
    """The builder must be referenced at a release tag vX.Y.Z (utils.IsValidBuilderTag)."""
    pin = tag_from_ref(ref)
    if testing:
        core = pin.split("-")[0]
        if not semver_valid(pin) or len(core.split(".")) != 3 or semver_build(pin):
            raise err("ErrorInvalidRef", f"builder ref {pin!r} is not a valid version tag")
        return
    if (
        not semver_valid(pin)
        or len(pin.split(".")) != 3
        or semver_prerelease(pin)
        or semver_build(pin)
    ):
        raise err("ErrorInvalidRef", f"builder ref {pin!r} is not of the form vX.Y.Z")


def valid_jreleaser_tag(ref: str) -> None:
    pin = tag_from_ref(ref)
    if (
        not semver_valid(pin)
        or len(pin.split(".")) != 3
        or semver_prerelease(pin) != "-java"
        or semver_build(pin)
    ):
        raise err("ErrorInvalidRef", f"builder ref {pin!r} is not of the form vX.Y.Z-java")


def verify_versioned_tag(tag: str, expected: str) -> None:
    """utils.VerifyVersionedTag: the components given in `expected` must equal the tag's."""
    if not semver_valid(expected):
        raise err("ErrorInvalidSemver", f"{expected!r} is not a semantic version")
    canonical = semver_canonical(tag)
    if not canonical:
        raise err("ErrorInvalidSemver", f"tag {tag!r} is not a semantic version")
    want = expected.split(".")
    have = canonical.split(".")
    if want[0] != have[0]:
        raise err("ErrorMismatchVersionedTag", f"major version of {tag!r} is not {want[0]!r}")
    if len(want) > 1 and want[1] != have[1]:
        raise err("ErrorMismatchVersionedTag", f"tag {tag!r} does not match {expected!r} (minor)")
    if len(want) > 2:
        patch = want[2].removesuffix(semver_build(expected))
        if patch != have[2]:
            raise err(
                "ErrorMismatchVersionedTag", f"tag {tag!r} does not match {expected!r} (patch)"
            )
