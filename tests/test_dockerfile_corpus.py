"""The Dockerfile pack on real Dockerfiles nobody on this team wrote.

`docker-library/` holds Docker's official images, which download and then verify with GPG or
`sha256sum` before use, pin their upstream versions, and take a local `[trusted=yes]` APT
repository only for packages they built themselves. The remote-code, signature, TLS,
plain-HTTP, extra-index, secret and key-material rules must stay silent there; what remains is
asserted exactly, file by file and line by line, in `DOCKER_LIBRARY_FINDINGS`:

- `unpinned-package-install`: true, low-severity weaknesses. The official images install
  distribution packages (`apt-get install`, `apk add`) without versions on purpose, because
  Debian and Alpine drop superseded versions from their archives and a pinned build would
  break; the packages are signed, so the cost is reproducibility, not trust. The Python images
  also install `'wheel<0.46'`, a range rather than a version.
- `final-stage-root`: true weaknesses by the rule's definition. These are base images meant
  to be extended, and several (postgres) drop privileges in their entrypoint rather than with
  `USER`, which a static rule cannot see. haproxy (`USER haproxy`) and the Windows nanoserver
  images (`USER ContainerUser`) are, correctly, absent.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from kubeward.config import Config
from kubeward.discover import classify
from kubeward.engine import ScanOptions, scan
from kubeward.registry import load_rules
from kubeward.source import FileKind
from tests.conftest import require_shared

PACK_RULES = sorted(r for r in load_rules() if r.startswith("dockerfile-"))
QUIET_RULES = sorted(
    set(PACK_RULES) - {"dockerfile-unpinned-package-install", "dockerfile-final-stage-root"}
)

# rule (without the `dockerfile-` prefix), path under docker-library/, lines reported.
DOCKER_LIBRARY_FINDINGS = """
final-stage-root golang/1.26/alpine3.23/Dockerfile 113
final-stage-root golang/1.26/alpine3.24/Dockerfile 113
final-stage-root golang/1.26/bookworm/Dockerfile 101
final-stage-root golang/1.26/trixie/Dockerfile 101
final-stage-root golang/1.26/windows/windowsservercore-ltsc2022/Dockerfile 7
final-stage-root golang/1.26/windows/windowsservercore-ltsc2025/Dockerfile 7
final-stage-root golang/1.27/alpine3.23/Dockerfile 113
final-stage-root golang/1.27/alpine3.24/Dockerfile 113
final-stage-root golang/1.27/bookworm/Dockerfile 101
final-stage-root golang/1.27/trixie/Dockerfile 101
final-stage-root golang/1.27/windows/windowsservercore-ltsc2022/Dockerfile 7
final-stage-root golang/1.27/windows/windowsservercore-ltsc2025/Dockerfile 7
final-stage-root golang/tip/alpine3.23/Dockerfile 113
final-stage-root golang/tip/alpine3.24/Dockerfile 113
final-stage-root golang/tip/bookworm/Dockerfile 107
final-stage-root golang/tip/trixie/Dockerfile 107
final-stage-root php/8.2/alpine3.23/cli/Dockerfile 7
final-stage-root php/8.2/alpine3.23/fpm/Dockerfile 7
final-stage-root php/8.2/alpine3.23/zts/Dockerfile 7
final-stage-root php/8.2/alpine3.24/cli/Dockerfile 7
final-stage-root php/8.2/alpine3.24/fpm/Dockerfile 7
final-stage-root php/8.2/alpine3.24/zts/Dockerfile 7
final-stage-root php/8.2/bookworm/apache/Dockerfile 7
final-stage-root php/8.2/bookworm/cli/Dockerfile 7
final-stage-root php/8.2/bookworm/fpm/Dockerfile 7
final-stage-root php/8.2/bookworm/zts/Dockerfile 7
final-stage-root php/8.2/trixie/apache/Dockerfile 7
final-stage-root php/8.2/trixie/cli/Dockerfile 7
final-stage-root php/8.2/trixie/fpm/Dockerfile 7
final-stage-root php/8.2/trixie/zts/Dockerfile 7
final-stage-root php/8.3/alpine3.23/cli/Dockerfile 7
final-stage-root php/8.3/alpine3.23/fpm/Dockerfile 7
final-stage-root php/8.3/alpine3.23/zts/Dockerfile 7
final-stage-root php/8.3/alpine3.24/cli/Dockerfile 7
final-stage-root php/8.3/alpine3.24/fpm/Dockerfile 7
final-stage-root php/8.3/alpine3.24/zts/Dockerfile 7
final-stage-root php/8.3/bookworm/apache/Dockerfile 7
final-stage-root php/8.3/bookworm/cli/Dockerfile 7
final-stage-root php/8.3/bookworm/fpm/Dockerfile 7
final-stage-root php/8.3/bookworm/zts/Dockerfile 7
final-stage-root php/8.3/trixie/apache/Dockerfile 7
final-stage-root php/8.3/trixie/cli/Dockerfile 7
final-stage-root php/8.3/trixie/fpm/Dockerfile 7
final-stage-root php/8.3/trixie/zts/Dockerfile 7
final-stage-root php/8.4/alpine3.23/cli/Dockerfile 7
final-stage-root php/8.4/alpine3.23/fpm/Dockerfile 7
final-stage-root php/8.4/alpine3.23/zts/Dockerfile 7
final-stage-root php/8.4/alpine3.24/cli/Dockerfile 7
final-stage-root php/8.4/alpine3.24/fpm/Dockerfile 7
final-stage-root php/8.4/alpine3.24/zts/Dockerfile 7
final-stage-root php/8.4/bookworm/apache/Dockerfile 7
final-stage-root php/8.4/bookworm/cli/Dockerfile 7
final-stage-root php/8.4/bookworm/fpm/Dockerfile 7
final-stage-root php/8.4/bookworm/zts/Dockerfile 7
final-stage-root php/8.4/trixie/apache/Dockerfile 7
final-stage-root php/8.4/trixie/cli/Dockerfile 7
final-stage-root php/8.4/trixie/fpm/Dockerfile 7
final-stage-root php/8.4/trixie/zts/Dockerfile 7
final-stage-root php/8.5/alpine3.23/cli/Dockerfile 7
final-stage-root php/8.5/alpine3.23/fpm/Dockerfile 7
final-stage-root php/8.5/alpine3.23/zts/Dockerfile 7
final-stage-root php/8.5/alpine3.24/cli/Dockerfile 7
final-stage-root php/8.5/alpine3.24/fpm/Dockerfile 7
final-stage-root php/8.5/alpine3.24/zts/Dockerfile 7
final-stage-root php/8.5/bookworm/apache/Dockerfile 7
final-stage-root php/8.5/bookworm/cli/Dockerfile 7
final-stage-root php/8.5/bookworm/fpm/Dockerfile 7
final-stage-root php/8.5/bookworm/zts/Dockerfile 7
final-stage-root php/8.5/trixie/apache/Dockerfile 7
final-stage-root php/8.5/trixie/cli/Dockerfile 7
final-stage-root php/8.5/trixie/fpm/Dockerfile 7
final-stage-root php/8.5/trixie/zts/Dockerfile 7
final-stage-root php/8.6-rc/alpine3.23/cli/Dockerfile 7
final-stage-root php/8.6-rc/alpine3.23/fpm/Dockerfile 7
final-stage-root php/8.6-rc/alpine3.23/zts/Dockerfile 7
final-stage-root php/8.6-rc/alpine3.24/cli/Dockerfile 7
final-stage-root php/8.6-rc/alpine3.24/fpm/Dockerfile 7
final-stage-root php/8.6-rc/alpine3.24/zts/Dockerfile 7
final-stage-root php/8.6-rc/bookworm/apache/Dockerfile 7
final-stage-root php/8.6-rc/bookworm/cli/Dockerfile 7
final-stage-root php/8.6-rc/bookworm/fpm/Dockerfile 7
final-stage-root php/8.6-rc/bookworm/zts/Dockerfile 7
final-stage-root php/8.6-rc/trixie/apache/Dockerfile 7
final-stage-root php/8.6-rc/trixie/cli/Dockerfile 7
final-stage-root php/8.6-rc/trixie/fpm/Dockerfile 7
final-stage-root php/8.6-rc/trixie/zts/Dockerfile 7
final-stage-root postgres/14/alpine3.22/Dockerfile 7
final-stage-root postgres/14/alpine3.23/Dockerfile 7
final-stage-root postgres/14/bookworm/Dockerfile 7
final-stage-root postgres/14/trixie/Dockerfile 7
final-stage-root postgres/15/alpine3.22/Dockerfile 7
final-stage-root postgres/15/alpine3.23/Dockerfile 7
final-stage-root postgres/15/bookworm/Dockerfile 7
final-stage-root postgres/15/trixie/Dockerfile 7
final-stage-root postgres/16/alpine3.22/Dockerfile 7
final-stage-root postgres/16/alpine3.23/Dockerfile 7
final-stage-root postgres/16/bookworm/Dockerfile 7
final-stage-root postgres/16/trixie/Dockerfile 7
final-stage-root postgres/17/alpine3.22/Dockerfile 7
final-stage-root postgres/17/alpine3.23/Dockerfile 7
final-stage-root postgres/17/bookworm/Dockerfile 7
final-stage-root postgres/17/trixie/Dockerfile 7
final-stage-root postgres/18/alpine3.22/Dockerfile 7
final-stage-root postgres/18/alpine3.23/Dockerfile 7
final-stage-root postgres/18/bookworm/Dockerfile 7
final-stage-root postgres/18/trixie/Dockerfile 7
final-stage-root python/3.10/alpine3.23/Dockerfile 7
final-stage-root python/3.10/alpine3.24/Dockerfile 7
final-stage-root python/3.10/bookworm/Dockerfile 7
final-stage-root python/3.10/slim-bookworm/Dockerfile 7
final-stage-root python/3.10/slim-trixie/Dockerfile 7
final-stage-root python/3.10/trixie/Dockerfile 7
final-stage-root python/3.11/alpine3.23/Dockerfile 7
final-stage-root python/3.11/alpine3.24/Dockerfile 7
final-stage-root python/3.11/bookworm/Dockerfile 7
final-stage-root python/3.11/slim-bookworm/Dockerfile 7
final-stage-root python/3.11/slim-trixie/Dockerfile 7
final-stage-root python/3.11/trixie/Dockerfile 7
final-stage-root python/3.12/alpine3.23/Dockerfile 7
final-stage-root python/3.12/alpine3.24/Dockerfile 7
final-stage-root python/3.12/bookworm/Dockerfile 7
final-stage-root python/3.12/slim-bookworm/Dockerfile 7
final-stage-root python/3.12/slim-trixie/Dockerfile 7
final-stage-root python/3.12/trixie/Dockerfile 7
final-stage-root python/3.13/alpine3.23/Dockerfile 7
final-stage-root python/3.13/alpine3.24/Dockerfile 7
final-stage-root python/3.13/bookworm/Dockerfile 7
final-stage-root python/3.13/slim-bookworm/Dockerfile 7
final-stage-root python/3.13/slim-trixie/Dockerfile 7
final-stage-root python/3.13/trixie/Dockerfile 7
final-stage-root python/3.13/windows/windowsservercore-ltsc2022/Dockerfile 7
final-stage-root python/3.13/windows/windowsservercore-ltsc2025/Dockerfile 7
final-stage-root python/3.14/alpine3.23/Dockerfile 7
final-stage-root python/3.14/alpine3.24/Dockerfile 7
final-stage-root python/3.14/bookworm/Dockerfile 7
final-stage-root python/3.14/slim-bookworm/Dockerfile 7
final-stage-root python/3.14/slim-trixie/Dockerfile 7
final-stage-root python/3.14/trixie/Dockerfile 7
final-stage-root python/3.14/windows/windowsservercore-ltsc2022/Dockerfile 7
final-stage-root python/3.14/windows/windowsservercore-ltsc2025/Dockerfile 7
final-stage-root python/3.15-rc/alpine3.23/Dockerfile 7
final-stage-root python/3.15-rc/alpine3.24/Dockerfile 7
final-stage-root python/3.15-rc/bookworm/Dockerfile 7
final-stage-root python/3.15-rc/slim-bookworm/Dockerfile 7
final-stage-root python/3.15-rc/slim-trixie/Dockerfile 7
final-stage-root python/3.15-rc/trixie/Dockerfile 7
final-stage-root python/3.15-rc/windows/windowsservercore-ltsc2022/Dockerfile 7
final-stage-root python/3.15-rc/windows/windowsservercore-ltsc2025/Dockerfile 7
final-stage-root ruby/3.3/alpine3.22/Dockerfile 7
final-stage-root ruby/3.3/alpine3.23/Dockerfile 7
final-stage-root ruby/3.3/bookworm/Dockerfile 7
final-stage-root ruby/3.3/slim-bookworm/Dockerfile 7
final-stage-root ruby/3.3/slim-trixie/Dockerfile 7
final-stage-root ruby/3.3/trixie/Dockerfile 7
final-stage-root ruby/3.4/alpine3.22/Dockerfile 7
final-stage-root ruby/3.4/alpine3.23/Dockerfile 7
final-stage-root ruby/3.4/bookworm/Dockerfile 7
final-stage-root ruby/3.4/slim-bookworm/Dockerfile 7
final-stage-root ruby/3.4/slim-trixie/Dockerfile 7
final-stage-root ruby/3.4/trixie/Dockerfile 7
final-stage-root ruby/4.0/alpine3.22/Dockerfile 7
final-stage-root ruby/4.0/alpine3.23/Dockerfile 7
final-stage-root ruby/4.0/bookworm/Dockerfile 7
final-stage-root ruby/4.0/slim-bookworm/Dockerfile 7
final-stage-root ruby/4.0/slim-trixie/Dockerfile 7
final-stage-root ruby/4.0/trixie/Dockerfile 7
unpinned-package-install golang/1.26/alpine3.23/Dockerfile 16,115
unpinned-package-install golang/1.26/alpine3.24/Dockerfile 16,115
unpinned-package-install golang/1.26/bookworm/Dockerfile 107,121
unpinned-package-install golang/1.26/trixie/Dockerfile 107,121
unpinned-package-install golang/1.27/alpine3.23/Dockerfile 16,115
unpinned-package-install golang/1.27/alpine3.24/Dockerfile 16,115
unpinned-package-install golang/1.27/bookworm/Dockerfile 107,121
unpinned-package-install golang/1.27/trixie/Dockerfile 107,121
unpinned-package-install golang/tip/alpine3.23/Dockerfile 20,115
unpinned-package-install golang/tip/alpine3.24/Dockerfile 20,115
unpinned-package-install golang/tip/bookworm/Dockerfile 113,127
unpinned-package-install golang/tip/trixie/Dockerfile 113,127
unpinned-package-install haproxy/2.6/Dockerfile 13,42
unpinned-package-install haproxy/2.6/alpine/Dockerfile 13,41
unpinned-package-install haproxy/2.8/Dockerfile 13,42
unpinned-package-install haproxy/2.8/alpine/Dockerfile 13,41
unpinned-package-install haproxy/3.0/Dockerfile 13,42
unpinned-package-install haproxy/3.0/alpine/Dockerfile 13,41
unpinned-package-install haproxy/3.2/Dockerfile 13,42
unpinned-package-install haproxy/3.2/alpine/Dockerfile 13,41
unpinned-package-install haproxy/3.3/Dockerfile 13,42
unpinned-package-install haproxy/3.3/alpine/Dockerfile 13,41
unpinned-package-install haproxy/3.4/Dockerfile 13,42
unpinned-package-install haproxy/3.4/alpine/Dockerfile 13,41
unpinned-package-install haproxy/3.5/Dockerfile 13,42
unpinned-package-install haproxy/3.5/alpine/Dockerfile 13,41
unpinned-package-install php/8.2/alpine3.23/cli/Dockerfile 24,65,92
unpinned-package-install php/8.2/alpine3.23/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.2/alpine3.23/zts/Dockerfile 24,65,92
unpinned-package-install php/8.2/alpine3.24/cli/Dockerfile 24,65,92
unpinned-package-install php/8.2/alpine3.24/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.2/alpine3.24/zts/Dockerfile 24,65,92
unpinned-package-install php/8.2/bookworm/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.2/bookworm/cli/Dockerfile 36,71,103
unpinned-package-install php/8.2/bookworm/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.2/bookworm/zts/Dockerfile 36,71,103
unpinned-package-install php/8.2/trixie/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.2/trixie/cli/Dockerfile 36,71,103
unpinned-package-install php/8.2/trixie/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.2/trixie/zts/Dockerfile 36,71,103
unpinned-package-install php/8.3/alpine3.23/cli/Dockerfile 24,65,92
unpinned-package-install php/8.3/alpine3.23/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.3/alpine3.23/zts/Dockerfile 24,65,92
unpinned-package-install php/8.3/alpine3.24/cli/Dockerfile 24,65,92
unpinned-package-install php/8.3/alpine3.24/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.3/alpine3.24/zts/Dockerfile 24,65,92
unpinned-package-install php/8.3/bookworm/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.3/bookworm/cli/Dockerfile 36,71,103
unpinned-package-install php/8.3/bookworm/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.3/bookworm/zts/Dockerfile 36,71,103
unpinned-package-install php/8.3/trixie/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.3/trixie/cli/Dockerfile 36,71,103
unpinned-package-install php/8.3/trixie/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.3/trixie/zts/Dockerfile 36,71,103
unpinned-package-install php/8.4/alpine3.23/cli/Dockerfile 24,65,92
unpinned-package-install php/8.4/alpine3.23/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.4/alpine3.23/zts/Dockerfile 24,65,92
unpinned-package-install php/8.4/alpine3.24/cli/Dockerfile 24,65,92
unpinned-package-install php/8.4/alpine3.24/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.4/alpine3.24/zts/Dockerfile 24,65,92
unpinned-package-install php/8.4/bookworm/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.4/bookworm/cli/Dockerfile 36,71,103
unpinned-package-install php/8.4/bookworm/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.4/bookworm/zts/Dockerfile 36,71,103
unpinned-package-install php/8.4/trixie/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.4/trixie/cli/Dockerfile 36,71,103
unpinned-package-install php/8.4/trixie/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.4/trixie/zts/Dockerfile 36,71,103
unpinned-package-install php/8.5/alpine3.23/cli/Dockerfile 24,65,92
unpinned-package-install php/8.5/alpine3.23/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.5/alpine3.23/zts/Dockerfile 24,65,92
unpinned-package-install php/8.5/alpine3.24/cli/Dockerfile 24,65,92
unpinned-package-install php/8.5/alpine3.24/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.5/alpine3.24/zts/Dockerfile 24,65,92
unpinned-package-install php/8.5/bookworm/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.5/bookworm/cli/Dockerfile 36,71,103
unpinned-package-install php/8.5/bookworm/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.5/bookworm/zts/Dockerfile 36,71,103
unpinned-package-install php/8.5/trixie/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.5/trixie/cli/Dockerfile 36,71,103
unpinned-package-install php/8.5/trixie/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.5/trixie/zts/Dockerfile 36,71,103
unpinned-package-install php/8.6-rc/alpine3.23/cli/Dockerfile 24,65,92
unpinned-package-install php/8.6-rc/alpine3.23/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.6-rc/alpine3.23/zts/Dockerfile 24,65,92
unpinned-package-install php/8.6-rc/alpine3.24/cli/Dockerfile 24,65,92
unpinned-package-install php/8.6-rc/alpine3.24/fpm/Dockerfile 24,65,92
unpinned-package-install php/8.6-rc/alpine3.24/zts/Dockerfile 24,65,92
unpinned-package-install php/8.6-rc/bookworm/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.6-rc/bookworm/cli/Dockerfile 36,71,103
unpinned-package-install php/8.6-rc/bookworm/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.6-rc/bookworm/zts/Dockerfile 36,71,103
unpinned-package-install php/8.6-rc/trixie/apache/Dockerfile 36,56,131,163
unpinned-package-install php/8.6-rc/trixie/cli/Dockerfile 36,71,103
unpinned-package-install php/8.6-rc/trixie/fpm/Dockerfile 36,71,103
unpinned-package-install php/8.6-rc/trixie/zts/Dockerfile 36,71,103
unpinned-package-install postgres/14/alpine3.22/Dockerfile 24,78,167
unpinned-package-install postgres/14/alpine3.23/Dockerfile 24,78,167
unpinned-package-install postgres/14/bookworm/Dockerfile 21,35,60,69,119,155
unpinned-package-install postgres/14/trixie/Dockerfile 21,35,60,69,119,155
unpinned-package-install postgres/15/alpine3.22/Dockerfile 24,78,170
unpinned-package-install postgres/15/alpine3.23/Dockerfile 24,78,170
unpinned-package-install postgres/15/bookworm/Dockerfile 21,35,60,69,119,155
unpinned-package-install postgres/15/trixie/Dockerfile 21,35,60,69,119,155
unpinned-package-install postgres/16/alpine3.22/Dockerfile 24,78,169
unpinned-package-install postgres/16/alpine3.23/Dockerfile 24,78,169
unpinned-package-install postgres/16/bookworm/Dockerfile 21,35,60,69,119,155
unpinned-package-install postgres/16/trixie/Dockerfile 21,35,60,69,119,155
unpinned-package-install postgres/17/alpine3.22/Dockerfile 24,77,167
unpinned-package-install postgres/17/alpine3.23/Dockerfile 24,77,167
unpinned-package-install postgres/17/bookworm/Dockerfile 21,35,60,69,119,155
unpinned-package-install postgres/17/trixie/Dockerfile 21,35,60,69,119,155
unpinned-package-install postgres/18/alpine3.22/Dockerfile 24,77,175
unpinned-package-install postgres/18/alpine3.23/Dockerfile 24,77,175
unpinned-package-install postgres/18/bookworm/Dockerfile 21,35,60,69,119,155
unpinned-package-install postgres/18/trixie/Dockerfile 21,35,60,69,119,155
unpinned-package-install python/3.10/alpine3.23/Dockerfile 20,31,127
unpinned-package-install python/3.10/alpine3.24/Dockerfile 20,31,127
unpinned-package-install python/3.10/bookworm/Dockerfile 21,100
unpinned-package-install python/3.10/slim-bookworm/Dockerfile 21,36,134
unpinned-package-install python/3.10/slim-trixie/Dockerfile 21,36,134
unpinned-package-install python/3.10/trixie/Dockerfile 21,100
unpinned-package-install python/3.11/alpine3.23/Dockerfile 20,31,127
unpinned-package-install python/3.11/alpine3.24/Dockerfile 20,31,127
unpinned-package-install python/3.11/bookworm/Dockerfile 21,100
unpinned-package-install python/3.11/slim-bookworm/Dockerfile 21,36,134
unpinned-package-install python/3.11/slim-trixie/Dockerfile 21,36,134
unpinned-package-install python/3.11/trixie/Dockerfile 21,100
unpinned-package-install python/3.12/alpine3.23/Dockerfile 20,31
unpinned-package-install python/3.12/alpine3.24/Dockerfile 20,31
unpinned-package-install python/3.12/bookworm/Dockerfile 21
unpinned-package-install python/3.12/slim-bookworm/Dockerfile 21,36
unpinned-package-install python/3.12/slim-trixie/Dockerfile 21,36
unpinned-package-install python/3.12/trixie/Dockerfile 21
unpinned-package-install python/3.13/alpine3.23/Dockerfile 15,26
unpinned-package-install python/3.13/alpine3.24/Dockerfile 15,26
unpinned-package-install python/3.13/bookworm/Dockerfile 16
unpinned-package-install python/3.13/slim-bookworm/Dockerfile 16,31
unpinned-package-install python/3.13/slim-trixie/Dockerfile 16,31
unpinned-package-install python/3.13/trixie/Dockerfile 16
unpinned-package-install python/3.14/alpine3.23/Dockerfile 15,25
unpinned-package-install python/3.14/alpine3.24/Dockerfile 15,25
unpinned-package-install python/3.14/bookworm/Dockerfile 16,30
unpinned-package-install python/3.14/slim-bookworm/Dockerfile 16,30
unpinned-package-install python/3.14/slim-trixie/Dockerfile 16,30
unpinned-package-install python/3.14/trixie/Dockerfile 16,30
unpinned-package-install python/3.15-rc/alpine3.23/Dockerfile 15,25
unpinned-package-install python/3.15-rc/alpine3.24/Dockerfile 15,25
unpinned-package-install python/3.15-rc/bookworm/Dockerfile 16,30
unpinned-package-install python/3.15-rc/slim-bookworm/Dockerfile 16,30
unpinned-package-install python/3.15-rc/slim-trixie/Dockerfile 16,30
unpinned-package-install python/3.15-rc/trixie/Dockerfile 16,30
unpinned-package-install ruby/3.3/alpine3.22/Dockerfile 26
unpinned-package-install ruby/3.3/alpine3.23/Dockerfile 26
unpinned-package-install ruby/3.3/bookworm/Dockerfile 28
unpinned-package-install ruby/3.3/slim-bookworm/Dockerfile 12,35
unpinned-package-install ruby/3.3/slim-trixie/Dockerfile 12,35
unpinned-package-install ruby/3.3/trixie/Dockerfile 28
unpinned-package-install ruby/3.4/alpine3.22/Dockerfile 26
unpinned-package-install ruby/3.4/alpine3.23/Dockerfile 26
unpinned-package-install ruby/3.4/bookworm/Dockerfile 28
unpinned-package-install ruby/3.4/slim-bookworm/Dockerfile 12,35
unpinned-package-install ruby/3.4/slim-trixie/Dockerfile 12,35
unpinned-package-install ruby/3.4/trixie/Dockerfile 28
unpinned-package-install ruby/4.0/alpine3.22/Dockerfile 26
unpinned-package-install ruby/4.0/alpine3.23/Dockerfile 26
unpinned-package-install ruby/4.0/bookworm/Dockerfile 28
unpinned-package-install ruby/4.0/slim-bookworm/Dockerfile 12,35
unpinned-package-install ruby/4.0/slim-trixie/Dockerfile 12,35
unpinned-package-install ruby/4.0/trixie/Dockerfile 28
"""


def _findings(root: Path, paths: list[Path]) -> tuple[dict[tuple[str, str], list[int]], list[str]]:
    report = scan(paths, ScanOptions(config=Config(), only_rules=PACK_RULES, jobs=1))
    got: dict[tuple[str, str], list[int]] = defaultdict(list)
    prefix = root.as_posix().rstrip("/") + "/"
    for r in report.results:
        path = r.span.path.removeprefix(prefix)
        got[(r.rule.id.removeprefix("dockerfile-"), path)].append(r.span.start.line)
    errors = [f"{e.path}: {e.reason}" for e in report.errors]
    return {k: sorted(v) for k, v in got.items()}, errors


def _expected() -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    for line in DOCKER_LIBRARY_FINDINGS.strip().splitlines():
        rule, path, lines = line.split()
        out[(rule, path)] = [int(x) for x in lines.split(",")]
    return out


def test_docker_library_findings_are_exactly_the_justified_ones() -> None:
    root = require_shared("corpora", "docker-library")
    got, errors = _findings(root, [root])
    assert not errors
    quiet = {k: v for k, v in got.items() if f"dockerfile-{k[0]}" in QUIET_RULES}
    assert not quiet, f"rules that must stay quiet on docker-library fired: {quiet}"
    expected = _expected()
    missing = {k: v for k, v in expected.items() if got.get(k) != v}
    extra = {k: v for k, v in got.items() if expected.get(k) != v}
    assert not missing and not extra, f"missing or changed: {missing}; new: {extra}"


def _corpus_dockerfiles(root: Path) -> list[Path]:
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not p.is_symlink() and classify(rel) is FileKind.DOCKERFILE:
            out.append(p)
    return out


def test_every_corpus_dockerfile_scans_without_crash_or_our_error() -> None:
    root = require_shared("corpora")
    files = _corpus_dockerfiles(root)
    assert any("argo-cd" in p.as_posix() for p in files)
    assert any("checkov" in p.as_posix() for p in files)
    report = scan(files, ScanOptions(config=Config(), only_rules=PACK_RULES, jobs=1))
    # Only an input's own fault may be an error: a Dockerfile BuildKit itself rejects.
    ours = [e for e in report.errors if not e.reason.startswith("malformed Dockerfile")]
    assert not ours, ours
    assert report.files_scanned == len(files)


def test_onbuild_and_rpm_findings_on_real_dockerfiles() -> None:
    """ONBUILD RUN is analysed like RUN and says it runs in child images (Meteor's base image
    pipes its installer into sh for every app built on it); yum installs are judged like apt."""
    root = require_shared("corpora", "kubernetes-examples")
    archived = root / "_archived"
    files = [
        archived / "meteor" / "dockerbase" / "Dockerfile",
        archived / "volumes" / "nfs" / "nfs-data" / "Dockerfile",
    ]
    rules = ["dockerfile-remote-code-execution", "dockerfile-unpinned-package-install"]
    report = scan(files, ScanOptions(config=Config(), only_rules=rules, jobs=1))
    got = {
        (r.rule.id, r.span.path.rsplit("_archived/", 1)[-1], r.span.start.line): r.message
        for r in report.results
    }
    onbuild = got[("dockerfile-remote-code-execution", "meteor/dockerbase/Dockerfile", 20)]
    assert "https://install.meteor.com/ straight into sh" in onbuild
    assert onbuild.endswith("(ONBUILD RUN: runs in every image built FROM this one)")
    yum = got[("dockerfile-unpinned-package-install", "volumes/nfs/nfs-data/Dockerfile", 16)]
    assert yum.startswith("yum installs nfs-utils without versions (pin as name-VERSION)")
