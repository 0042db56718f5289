"""The `workload-runtime-socket-mount` rule: a workload mounts the runtime socket from the host."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from kubeward.model.k8s import Workload
from kubeward.registry import Finding, Layer, Related, Severity, rule

# Socket files of Docker, containerd, CRI-O and cri-dockerd, and the host directories that hold
# them (mounting the directory exposes the socket just the same).
_SOCKETS = frozenset(
    {"docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock", "dockershim.sock"}
)
_SOCKET_DIRS = frozenset(
    {
        "/",
        "/run",
        "/var/run",
        "/run/containerd",
        "/var/run/containerd",
        "/run/crio",
        "/var/run/crio",
        "/run/docker",
        "/var/run/docker",
        "/run/cri-dockerd",
        "/var/run/cri-dockerd",
    }
)


@rule(
    id="workload-runtime-socket-mount",
    layer=Layer.ADMISSION,
    severity=Severity.CRITICAL,
    references=(
        "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",
        "https://docs.docker.com/engine/security/#docker-daemon-attack-surface",
    ),
)
def workload_runtime_socket_mount(w: Workload) -> Iterator[Finding]:
    """Workload mounts the container runtime socket from the host.

    A `hostPath` volume of `docker.sock`, `containerd.sock`, `crio.sock` (or cri-dockerd's),
    or of a host directory holding one (`/var/run`, `/run/containerd`, `/`). The finding
    points at the path, with the containers that mount the volume as related locations.

    ## Why it matters
    The runtime socket is root on the node: through it a container starts privileged
    containers, reads every other container's files and secrets, and pulls and runs any image,
    past every admission check. A compromised image in this pod owns the node.

    ## Remediation
    Remove the volume. Build images with a daemonless builder (BuildKit rootless, kaniko),
    and read container metadata from the kubelet or the CRI API with a read-only agent:

        volumes:
          - name: cache
            emptyDir: {}
    """
    vols = w.pod_spec.get("volumes")
    for v in vols.seq() if vols is not None else []:
        path_node = v.dig("hostPath", "path")
        if path_node is None or path_node.text is None:
            continue
        raw = path_node.text.strip()
        path = posixpath.normpath(raw) if raw.startswith("/") else raw
        if posixpath.basename(path) not in _SOCKETS and path not in _SOCKET_DIRS:
            continue
        name = v.get_str("name")
        related = tuple(
            Related(m.span, f"mounted by {c.display}")
            for c in w.containers
            for m in (c.node.get("volumeMounts") or c.node).seq()
            if name and m.get_str("name") == name
        )
        if posixpath.basename(path) in _SOCKETS:
            what = f"the container runtime socket ({raw}) from the host"
        elif path == "/":
            what = f"the host's root filesystem ({raw}), container runtime socket included"
        else:
            what = f"a host directory holding the container runtime socket ({raw})"
        yield Finding(path_node.span, f"{w.obj.display} mounts {what}", related=related)
