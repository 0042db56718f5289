"""Helm charts rendered by Helm's engine: every rule on the rendered objects, each finding at
the template or values line that produced it; render failures and hostile charts are error
entries, bounded in time and memory."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kubeward.engine import ScanOptions, scan
from kubeward.render import RenderOptions, is_rendered
from kubeward.render.sandbox import Budget
from kubeward.results import Report

from .conftest import FIXTURES, REPO, every_result, rule_hits

CHARTS = FIXTURES / "helm_render"
pytestmark = pytest.mark.skipif(
    shutil.which(sys.executable) is None, reason="no Python to start the render worker"
)


def _scan(*paths: Path, **render: object) -> Report:
    return scan(list(paths), ScanOptions(render=RenderOptions(**render)))  # type: ignore[arg-type]


def _copy(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(CHARTS / name, dst)
    return dst


def _line(path: Path, text: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return i
    raise AssertionError(f"{text!r} not in {path}")


def test_wildcard_clusterrole_bound_to_the_default_service_account(tmp_path: Path) -> None:
    root = _copy("rbac", tmp_path)
    report = _scan(root)
    values = root / "values.yaml"
    # `rules` come from values through `toYaml`, the subject through `{{ .Values.serviceAccount }}`.
    assert rule_hits(report, root, "rbac-wildcard") == {
        ("values.yaml", _line(values, 'apiGroups: ["*"]'))
    }
    assert rule_hits(report, root, "rbac-cluster-admin-binding") == {
        ("values.yaml", _line(values, "serviceAccount: default"))
    }
    [wild] = [r for r in report.results if r.rule.id == "rbac-wildcard"]
    rendered = [x for x in wild.finding.related if is_rendered(x.span.path)]
    assert [x.span.path.removeprefix(f"{root}/") for x in rendered] == [
        "templates/clusterrole.yaml.rendered"
    ]
    assert wild.finding.properties["helm_values"] == "the chart's values.yaml"
    assert report.errors == []


def test_untagged_image_from_values_and_disabled_template_image(tmp_path: Path) -> None:
    root = _copy("rbac", tmp_path)
    report = _scan(root)
    ref_line = _line(root / "values.yaml", "ref: nginx")
    assert rule_hits(report, root, "image-mutable-tag") == {("values.yaml", ref_line)}
    # `busybox:latest` sits in an `if .Values.debug` block the cluster never gets.
    assert rule_hits(report, root, "helm-template-hardcoded-image") == set()
    # Enabled from the command line, it is rendered, and reported at its template line.
    report = _scan(root, set_values=["debug=true"])
    busybox = ("templates/deployment.yaml", _line(root / "templates/deployment.yaml", "busybox"))
    assert busybox in rule_hits(report, root, "helm-template-hardcoded-image")
    assert busybox in rule_hits(report, root, "image-mutable-tag")


def test_app_of_apps_tracking_master(tmp_path: Path) -> None:
    root = _copy("apps", tmp_path)
    report = _scan(root)
    line = _line(root / "values.yaml", "targetRevision: master")
    hits = [r for r in report.results if r.rule.id == "argocd-target-revision-mutable"]
    assert sorted(r.finding.message.split()[2] for r in hits) == [
        "Application/billing",
        "Application/shop",
    ]
    assert {(r.span.path, r.span.start.line) for r in hits} == {(str(root / "values.yaml"), line)}


def test_required_value_missing_is_an_error_at_the_template_line(tmp_path: Path) -> None:
    root = _copy("required", tmp_path)
    report = _scan(root)
    [err] = [e for e in report.errors if "render" in e.reason]
    assert err.path == str(root / "templates/ingress.yaml")
    assert err.line == _line(root / "templates/ingress.yaml", "required")
    assert "host is required" in err.reason
    # With the value given, it renders and the scan has no error.
    assert _scan(root, set_values=["host=shop.example.com"]).errors == []


def test_gitops_values_render_the_chart_again(tmp_path: Path) -> None:
    chart = _copy("rbac", tmp_path / "charts")
    (tmp_path / "release.yaml").write_text(
        "apiVersion: helm.toolkit.fluxcd.io/v2\n"
        "kind: HelmRelease\n"
        "metadata: {name: operator, namespace: apps}\n"
        "spec:\n"
        "  chart:\n"
        "    spec:\n"
        "      chart: ./charts/rbac\n"
        "      sourceRef: {kind: GitRepository, name: deploy}\n"
        "  valuesFrom:\n"
        "    - {kind: ConfigMap, name: operator-values}\n"
        "  values:\n"
        "    web:\n"
        "      ref: nginx:1.27\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata: {name: operator-values, namespace: apps}\n"
        "data:\n"
        "  values.yaml: |\n"
        "    serviceAccount: operator\n"
    )
    report = _scan(tmp_path)
    # The HelmRelease's own value: a tag, still no digest; reported at its line.
    pinned = rule_hits(report, tmp_path, "image-not-pinned-by-digest")
    assert ("release.yaml", 13) in pinned
    assert ("charts/rbac/values.yaml", _line(chart / "values.yaml", "ref: nginx")) in pinned
    [r] = [
        r
        for r in report.results
        if r.rule.id == "image-not-pinned-by-digest" and r.span.path.endswith("release.yaml")
    ]
    assert r.finding.properties["helm_values"].startswith("HelmRelease apps/operator")
    # The binding of that render names the ConfigMap's service account, not `default`.
    admin = [r for r in report.results if r.rule.id == "rbac-cluster-admin-binding"]
    assert any(
        (
            "operator" in r.finding.message
            and "ConfigMap" in str(r.finding.properties.get("helm_values", ""))
        )
        or "HelmRelease" in str(r.finding.properties.get("helm_values", ""))
        for r in admin
    )


def test_hostile_chart_is_bounded_and_the_scan_goes_on(tmp_path: Path) -> None:
    hostile = _copy("hostile", tmp_path)
    good = _copy("apps", tmp_path)
    report = _scan(tmp_path, budget=Budget(timeout_s=5))
    errs = [e for e in report.errors if e.path.startswith(str(hostile))]
    assert len(errs) == 1 and "took over 5 s" in errs[0].reason
    assert rule_hits(report, good.parent, "argocd-target-revision-mutable") == {
        ("apps/values.yaml", 2)
    }


def test_memory_bomb_is_stopped_by_the_address_space_limit(tmp_path: Path) -> None:
    root = tmp_path / "bomb"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: bomb\nversion: 0.1.0\n")
    (root / "templates" / "x.yaml").write_text("{{ $x := until 2000000000 }}\n")
    report = _scan(root)
    [err] = report.errors
    assert "memory budget" in err.reason and err.path == str(root / "Chart.yaml")


def test_files_stay_inside_the_chart(tmp_path: Path) -> None:
    from kubeward.discover import discover
    from kubeward.load import load_file
    from kubeward.render import render_scan

    root = tmp_path / "leaky"
    (root / "templates").mkdir(parents=True)
    (root / "files").mkdir()
    (root / "charts").mkdir()
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: leaky\nversion: 0.1.0\n")
    shutil.copy(CHARTS / "hostile" / "templates" / "files.yaml", root / "templates")
    os.symlink("/etc/passwd", root / "files" / "passwd")
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        data = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n"
        info = tarfile.TarInfo("evil/../../Chart.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (root / "charts" / "evil-1.0.0.tgz").write_bytes(evil.getvalue())
    items, _ = discover([root])
    files = [load_file(d)[0] for d in items]
    out = render_scan(files, RenderOptions())
    [cm] = [f for f in out.files if f.rel.endswith("files.yaml.rendered")]
    assert 'passwd: ""' in cm.text and 'linked: ""' in cm.text and "root:" not in cm.text
    reasons = {e.path.removeprefix(f"{root}/"): e.reason for e in out.errors}
    assert "outside the scan root" in reasons["files/passwd"]
    assert "unsafe member name" in reasons["charts/evil-1.0.0.tgz"]


def test_vendored_subcharts_render_with_their_parent(tmp_path: Path) -> None:
    root = tmp_path / "parent"
    sub = root / "charts" / "child"
    (sub / "templates").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: parent\nversion: 0.1.0\n")
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: child\nversion: 0.1.0\n")
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {0}}}\nspec:\n  containers:\n"
        "    - name: c\n      image: {1}\n"
    )
    (sub / "templates" / "pod.yaml").write_text(pod.format("child", "redis:latest"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in (
            ("packed/Chart.yaml", "apiVersion: v2\nname: packed\nversion: 1.0.0\n"),
            ("packed/templates/pod.yaml", pod.format("packed", "memcached:latest")),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    (root / "charts" / "packed-1.0.0.tgz").write_bytes(buf.getvalue())
    report = _scan(root)
    hits = rule_hits(report, root, "image-mutable-tag")
    # The folder's template is a scanned file; the archive's is only in the rendered output.
    assert ("charts/child/templates/pod.yaml", 7) in hits
    assert ("charts/packed/templates/pod.yaml.rendered", 7) in hits
    # (each is merged into its image-not-pinned-by-digest result: one change fixes both)
    assert len([r for r in every_result(report) if r.rule.id == "image-mutable-tag"]) == 2


def test_without_the_sdk_plain_templates_are_read_and_the_report_says_so(tmp_path: Path) -> None:
    """A Python where helm_python cannot be imported: the fallback, through the real CLI."""
    root = _copy("rbac", tmp_path)
    plain = root / "templates" / "plain.yaml"
    plain.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: c\n      image: nginx:latest\n"
    )
    blocker = tmp_path / "block"
    (blocker / "helm_python").mkdir(parents=True)
    (blocker / "helm_python" / "__init__.py").write_text("raise ImportError('blocked here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO / "src")])}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubeward",
            "scan",
            str(root),
            "--format",
            "json",
            "--fail-on",
            "never",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    import json

    doc = json.loads(out.stdout)
    notes = [e["reason"] for e in doc["errors"] if "not rendered" in e["reason"]]
    assert len(notes) == 1 and "blocked here" in notes[0]
    assert "1 template(s) without template actions read as plain YAML" in notes[0]
    hits = {
        (f["rule"], f["location"]["path"], f["location"]["start"]["line"]): f
        for f in doc["findings"]
    }
    # The mutable tag is reported on the digest finding that fixes it too (kubeward.group).
    digest = hits[("image-not-pinned-by-digest", str(plain), 7)]
    assert "image-mutable-tag" in json.dumps(digest["properties"])


def test_argo_cd_application_values_and_destination(tmp_path: Path) -> None:
    _copy("rbac", tmp_path / "deploy")
    (tmp_path / "app.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\n"
        "kind: Application\n"
        "metadata: {name: operator, namespace: argocd}\n"
        "spec:\n"
        "  project: default\n"
        "  source:\n"
        "    repoURL: https://github.com/example/deploy.git\n"
        f"    targetRevision: {'a' * 40}\n"
        "    path: deploy/rbac\n"
        "    helm:\n"
        "      valuesObject:\n"
        "        web:\n"
        "          ref: redis\n"
        "  destination: {server: https://kubernetes.default.svc, namespace: ops}\n"
    )
    report = _scan(tmp_path)
    mutable = rule_hits(report, tmp_path, "image-mutable-tag")
    assert ("app.yaml", 13) in mutable  # the Application's own value
    assert ("deploy/rbac/values.yaml", 9) in mutable  # the chart's default render
    # Rendered into the Application's release and namespace.
    [admin] = [
        r
        for r in report.results
        if r.rule.id == "rbac-cluster-admin-binding"
        and "Application" in r.finding.properties.get("helm_values", "")
    ]
    assert "ServiceAccount ops/default" in admin.finding.message
    assert "ClusterRoleBinding/operator-operator" in admin.finding.message


def test_suppressions_in_templates_and_values_apply(tmp_path: Path) -> None:
    root = _copy("rbac", tmp_path)
    values = root / "values.yaml"
    values.write_text(
        values.read_text().replace(
            "  ref: nginx", "  ref: nginx  # kubeward: ignore[image-mutable-tag]"
        )
    )
    role = root / "templates" / "clusterrole.yaml"
    role.write_text(
        role.read_text().replace(
            "metadata:\n", "metadata:\n  annotations:\n    kubeward.dev/ignore: rbac-wildcard\n"
        )
    )
    report = _scan(root)
    assert rule_hits(report, root, "image-mutable-tag") == set()
    assert rule_hits(report, root, "rbac-wildcard") == set()
    assert {(s.rule.id, s.suppressed_by) for s in report.suppressed} >= {
        ("image-mutable-tag", "inline"),
        ("rbac-wildcard", "annotation"),
    }
    assert report.unused_suppressions == []


def test_subchart_conditions_are_helms(tmp_path: Path) -> None:
    root = tmp_path / "p"
    child = root / "charts" / "child"
    (child / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(
        "apiVersion: v2\nname: p\nversion: 0.1.0\ndependencies:\n"
        "  - {name: child, version: 0.1.0, condition: child.enabled}\n"
        "  - {name: absent, version: 1.0.0, repository: https://x.example, condition: absent.on}\n"
    )
    (root / "values.yaml").write_text("child:\n  enabled: false\nabsent:\n  on: false\n")
    (child / "Chart.yaml").write_text("apiVersion: v2\nname: child\nversion: 0.1.0\n")
    (child / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\nspec:\n  containers:\n"
        '    - {name: c, image: "nginx:latest"}\n'
    )
    off = _scan(root)
    assert rule_hits(off, root, "image-mutable-tag") == set()
    assert rule_hits(off, root, "helm-template-hardcoded-image") == set()
    assert off.errors == []  # the absent dependency is disabled: nothing to say
    on = _scan(root, set_values=["child.enabled=true", "absent.on=true"])
    assert rule_hits(on, root, "image-mutable-tag") == {("charts/child/templates/pod.yaml", 6)}
    assert [e.reason.split(":")[0] for e in on.errors] == [
        "dependency absent is not vendored under charts/ nor in the scan"
    ]


# --- Kustomize patches --------------------------------------------------------------------------

KUSTOMIZE = FIXTURES / "kustomize_patches"


def test_kustomize_patches_are_judged_at_the_patch_lines() -> None:
    root = KUSTOMIZE
    report = _scan(root)
    k = root / "overlay" / "kustomization.yaml"
    inline_json = _line(k, "value: {name: debug, image: busybox")
    inline_smp = _line(k, "image: nginx:latest")
    ops = ("overlay/ops.yaml", _line(root / "overlay" / "ops.yaml", "privileged: true"))
    # A JSON 6902 op adds a privileged debug container; a strategic-merge patch makes the
    # base's digest-pinned image `latest`; a JSON 6902 file makes the base container privileged.
    assert rule_hits(report, root, "workload-privileged-container") == {
        ("overlay/kustomization.yaml", inline_json),
        ops,
    }
    assert rule_hits(report, root, "image-mutable-tag") == {
        ("overlay/kustomization.yaml", inline_json),
        ("overlay/kustomization.yaml", inline_smp),
    }
    # The base, pinned and unprivileged, is judged as written: nothing from it twice.
    assert rule_hits(report, root, "image-not-pinned-by-digest") == {
        ("overlay/kustomization.yaml", inline_json),
        ("overlay/kustomization.yaml", inline_smp),
    }
    [priv] = [
        r
        for r in report.results
        if r.rule.id == "workload-privileged-container" and r.span.path.endswith("ops.yaml")
    ]
    assert "container web" in priv.finding.message
    assert [x.span.path.rsplit("/", 2)[-2:] for x in priv.finding.related] == [
        ["overlay", "kustomization.yaml.rendered"]
    ]
    assert report.errors == []


def test_kustomize_patch_that_does_not_apply_is_an_error(tmp_path: Path) -> None:
    shutil.copytree(KUSTOMIZE, tmp_path / "k")
    ops = tmp_path / "k" / "overlay" / "ops.yaml"
    ops.write_text(ops.read_text().replace("op: add", "op: replace"))
    report = _scan(tmp_path / "k")
    k = tmp_path / "k" / "overlay" / "kustomization.yaml"
    assert [(e.path, e.line) for e in report.errors] == [(str(k), _line(k, "path: ops.yaml"))]
    assert "replace of missing" in report.errors[0].reason


def test_cli_helm_values_file_and_no_render(tmp_path: Path) -> None:
    import json

    from kubeward.cli import main

    root = _copy("rbac", tmp_path)
    extra = tmp_path / "prod.yaml"
    extra.write_text("web:\n  ref: registry.example.com/web:2.1\n")
    out = tmp_path / "r.json"
    main(
        ["scan", str(root), "--helm-values", str(extra), "--fail-on", "never", "-f", f"json={out}"]
    )
    doc = json.loads(out.read_text())
    [hit] = [f for f in doc["findings"] if f["rule"] == "image-not-pinned-by-digest"]
    assert hit["message"].startswith("registry.example.com/web:2.1 ")
    # The value is in a file outside the scan: the finding is at the template line using it.
    deployment = root / "templates" / "deployment.yaml"
    assert (hit["location"]["path"], hit["location"]["start"]["line"]) == (
        str(deployment),
        _line(deployment, "image: {{ .Values.web.ref"),
    )
    main(["scan", str(root), "--no-render", "--fail-on", "never", "-f", f"json={out}"])
    doc = json.loads(out.read_text())
    assert {f["rule"] for f in doc["findings"]} == {"helm-template-hardcoded-image"}
