"""Read and parse one discovered file, turning every problem into a `ScanError`."""

from __future__ import annotations

import yaml

from kubeward import safe_read
from kubeward.discover import Discovered
from kubeward.parse.dockerfile import DockerfileError, DockerfileLimitError, parse_dockerfile
from kubeward.parse.yamlnode import YamlLimitError, load_documents
from kubeward.source import FileKind, ScanError, SourceFile

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024

_YAML_KINDS = frozenset(
    {
        FileKind.YAML,
        FileKind.GHA_WORKFLOW,
        FileKind.GHA_ACTION,
        FileKind.GITLAB_CI,
        FileKind.HELM_CHART,
        FileKind.HELM_VALUES,
        FileKind.KUSTOMIZATION,
    }
)


def read_text(d: Discovered, max_size: int) -> str:
    """The file's text; raises `ValueError` with a reason a person can act on."""
    hint = " (raise max-file-size in .kubeward.yaml or --max-file-size)"
    if d.size > max_size:
        raise ValueError(f"file is {d.size} bytes, over the size limit of {max_size} bytes{hint}")
    # Discovery refused links out of the root; the read checks again (the tree may change
    # between the walk and the read) and refuses FIFOs, devices and growth past the limit.
    return safe_read.read_text(d.abspath, root=d.root or None, max_size=max_size, hint=hint)


def load_file(
    d: Discovered,
    *,
    max_size: int = DEFAULT_MAX_FILE_SIZE,
    notes: list[ScanError] | None = None,
) -> tuple[SourceFile, ScanError | None]:
    """Read and parse a file. On error the `SourceFile` is returned with what could be read.

    Problems that do not stop the file being judged (a duplicate mapping key: the file is
    ambiguous, and is judged as Kubernetes reads it) are appended to `notes`.
    """
    f = SourceFile(rel=d.rel, abspath=d.abspath, kind=d.kind, root=d.root)
    try:
        f.text = read_text(d, max_size)
    except ValueError as e:
        return f, ScanError(d.rel, str(e))
    try:
        if d.kind in _YAML_KINDS:
            dups: list[tuple[int, str]] = []
            f.documents = load_documents(f.text, d.rel, duplicates=dups)
            if notes is not None:
                notes.extend(ScanError(d.rel, reason, line) for line, reason in dups)
        elif d.kind is FileKind.DOCKERFILE:
            f.instructions = parse_dockerfile(f.text)
    except yaml.MarkedYAMLError as e:
        if _foreign_json(d.rel, f.text):  # tsconfig.json with comments: not ours to judge
            f.documents = []
            return f, None
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(str(x) for x in (e.context, e.problem) if x)
        return f, ScanError(d.rel, f"malformed YAML: {reason}", line)
    except DockerfileLimitError as e:
        return f, ScanError(d.rel, f"Dockerfile not parsed: {e}")
    except (yaml.YAMLError, YamlLimitError, DockerfileError) as e:
        label = (
            "malformed Dockerfile" if d.kind is FileKind.DOCKERFILE else "unsafe or malformed YAML"
        )
        return f, ScanError(d.rel, f"{label}: {e}")
    except RecursionError:
        return f, ScanError(d.rel, "nesting too deep to parse safely")
    return f, None


def _foreign_json(rel: str, text: str) -> bool:
    """A `.json` file that is not strict JSON (comments, trailing commas: `tsconfig.json`,
    VS Code settings) and names no Kubernetes `apiVersion`/`kind`: a tool's configuration,
    skipped rather than reported as an error."""
    return rel.lower().endswith(".json") and not ('"apiVersion"' in text and '"kind"' in text)


def reparse(f: SourceFile) -> None:
    """Parse again a file a worker process already parsed without error (its text is kept)."""
    if f.kind in _YAML_KINDS:
        if _foreign_json(f.rel, f.text):  # skipped at the first parse if it is not JSON
            try:
                f.documents = load_documents(f.text, f.rel)
            except yaml.MarkedYAMLError:
                f.documents = []
            return
        f.documents = load_documents(f.text, f.rel)
    elif f.kind is FileKind.DOCKERFILE:
        f.instructions = parse_dockerfile(f.text)
