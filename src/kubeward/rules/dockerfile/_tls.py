"""What turns TLS verification off: shared by `dockerfile-tls-verification-disabled` and the CI
rules that judge `env:`/`variables:` and `run:`/`script:` text."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.dockerfile import Command, Word
from kubeward.rules.dockerfile._common import flag_value, has_flag, python_module

FALSY = frozenset({"false", "0", "no", "off"})
"""Values that turn a boolean setting off."""


def tls_env_note(name: str, value: str) -> str | None:
    """Why an environment variable turns TLS verification off, if it does (also used for CI
    `env:`/`variables:`)."""
    v = value.strip().lower()
    if name == "GIT_SSL_NO_VERIFY" and v:
        return f"{name}={value} turns off git's TLS certificate checks (any value does)"
    if name == "NODE_TLS_REJECT_UNAUTHORIZED" and v == "0":
        return "NODE_TLS_REJECT_UNAUTHORIZED=0 makes Node.js (and npm) accept any certificate"
    if name.lower() == "npm_config_strict_ssl" and v in FALSY:
        return f"{name}={value} makes npm accept any TLS certificate"
    if name == "PIP_TRUSTED_HOST" and v:
        return f"PIP_TRUSTED_HOST={value} skips pip's TLS certificate checks for those hosts"
    if name == "PYTHONHTTPSVERIFY" and v == "0":
        return "PYTHONHTTPSVERIFY=0 turns off certificate checks in Python's HTTPS clients"
    return None


def tls_command_checks(cmd: Command) -> Iterator[tuple[Word, str]]:
    """The words of one split shell command that turn TLS verification off, each with why."""
    argv = cmd.argv
    name = cmd.name
    if name == "curl":
        w = has_flag(argv, "--insecure", "-k")
        if w is not None:
            yield w, f"curl {w.text} accepts any TLS certificate, so anyone on the path can answer"
    elif name == "wget":
        w = has_flag(argv, "--no-check-certificate")
        if w is not None:
            yield w, "wget --no-check-certificate accepts any TLS certificate"
    elif name == "git":
        for w, value in flag_value(argv, "-c"):
            key, _, val = value.partition("=")
            if key.lower() == "http.sslverify" and val.lower() in FALSY:
                yield w, f"git -c {value} turns off TLS certificate checks"
        texts = [x.text for x in argv]
        if "config" in texts:
            for i, t in enumerate(texts[:-1]):
                if t.lower() == "http.sslverify" and texts[i + 1].lower() in FALSY:
                    yield (
                        argv[i],
                        "git config http.sslVerify false turns off TLS certificate checks",
                    )
    elif python_module(cmd, "pip") is not None:
        pip = python_module(cmd, "pip") or []
        for w, value in flag_value(pip, "--trusted-host"):
            yield w, f"pip --trusted-host {value} skips TLS certificate checks for that index"
        texts = [x.text for x in pip]
        if "config" in texts and any(t.endswith(".trusted-host") for t in texts):
            yield pip[0], "pip config sets a trusted-host, skipping TLS checks for that index"
    elif name in ("npm", "yarn", "pnpm"):
        texts = [x.text.lower() for x in argv]
        for i, t in enumerate(texts):
            if (
                t in ("strict-ssl", "enablestrictssl")
                and i + 1 < len(texts)
                and texts[i + 1] in FALSY
            ):
                yield argv[i], f"{name} config {argv[i].text} false accepts any TLS certificate"
            if t.startswith("--strict-ssl=") and t.split("=", 1)[1] in FALSY:
                yield argv[i], f"{name} {argv[i].text} accepts any TLS certificate"
    elif name == "composer":
        texts = [x.text.lower() for x in argv]
        for i, t in enumerate(texts[:-1]):
            if (t, texts[i + 1]) in (("secure-http", "false"), ("disable-tls", "true")):
                yield argv[i], f"composer config {t} {texts[i + 1]} fetches packages without TLS"
