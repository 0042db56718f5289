"""Render the gate's chart without `helm` (not installable here): a small interpreter of the
Go-template subset charts/kubeward-gate uses — `{{- -}}` trimming, `$v := / =`, `if / else
if / else / end`, pipelines, fields of .Values/.Release/.Chart/$vars, and the Helm functions
printf b64enc quote toYaml nindent default required int list and not genCA genSignedCert
.Files.Get (genCA/genSignedCert with `cryptography`, as Sprig makes them). Anything else
raises, so a template using more fails loudly instead of rendering wrongly."""

from __future__ import annotations

import base64
import datetime
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_ACTION = re.compile(r"(\{\{-?\s*)(.*?)(\s*-?\}\})", re.S)


def _pem_key(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _cert(
    cn: str, key: Any, issuer: Any, issuer_key: Any, days: int, *, ca: bool, names: list[str]
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def gen_ca(cn: str, days: int) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = _cert(cn, key, name, key, days, ca=True, names=[])
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return {"Cert": pem, "Key": _pem_key(key), "_key": key, "_cert": cert}


def gen_signed_cert(
    cn: str, ips: Any, alts: list[str], days: int, ca: dict[str, Any]
) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _cert(cn, key, ca["_cert"].subject, ca["_key"], days, ca=False, names=alts)
    return {"Cert": cert.public_bytes(serialization.Encoding.PEM).decode(), "Key": _pem_key(key)}


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False).rstrip("\n")


def _empty(value: Any) -> bool:
    return value in (None, "", 0, False) or value == [] or value == {}


def _required(message: str, value: Any) -> Any:
    if _empty(value):
        raise ValueError(f"required: {message}")
    return value


class Renderer:
    def __init__(self, chart: Path, values: dict[str, Any], *, name: str, namespace: str) -> None:
        meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        self.chart = chart
        self.root = {
            "Values": values,
            "Release": {"Name": name, "Namespace": namespace},
            "Chart": {"AppVersion": meta["appVersion"], "Name": meta["name"]},
        }
        self.functions: dict[str, Callable[..., Any]] = {
            "printf": lambda f, *a: f.replace("%s", "{}").format(*a),
            "b64enc": lambda s: base64.b64encode(str(s).encode()).decode(),
            "quote": lambda s: '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"',
            "toYaml": _to_yaml,
            "nindent": lambda n, s: "\n" + "\n".join(" " * n + line for line in str(s).split("\n")),
            "default": lambda d, v: d if _empty(v) else v,
            "required": _required,
            "int": int,
            "list": lambda *a: list(a),
            "and": lambda *a: next((x for x in a if _empty(x)), a[-1]),
            "not": _empty,
            "genCA": gen_ca,
            "genSignedCert": gen_signed_cert,
        }

    # --- expressions ----------------------------------------------------------------------

    def _field(self, path: str, variables: dict[str, Any], dot: Any) -> Any:
        head, *rest = path.split(".")
        value = variables[head] if head.startswith("$") else dot
        for key in rest:
            if key:
                value = value.get(key) if isinstance(value, dict) else None
        return value

    def _term(self, token: str, variables: dict[str, Any], dot: Any) -> Any:
        if token.startswith('"'):
            return token[1:-1]
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if token == "nil":
            return None
        if token.startswith("(") and token.endswith(")"):
            return self.pipeline(token[1:-1], variables, dot)
        if token.startswith((".", "$")):
            return self._field(token, variables, dot)
        raise ValueError(f"unsupported term {token!r}")

    def _split(self, text: str, sep: str) -> list[str]:
        parts, depth, quote, current = [], 0, False, ""
        for ch in text:
            if ch == '"':
                quote = not quote
            elif not quote and ch == "(":
                depth += 1
            elif not quote and ch == ")":
                depth -= 1
            if ch == sep and depth == 0 and not quote:
                parts.append(current)
                current = ""
                continue
            current += ch
        return [*parts, current]

    def _command(
        self, text: str, variables: dict[str, Any], dot: Any, piped: Any, has_piped: bool
    ) -> Any:
        tokens = [t for t in self._split(text.strip(), " ") if t]
        if tokens[0] == ".Files.Get":
            return (self.chart / self._term(tokens[1], variables, dot)).read_text()
        if tokens[0] in self.functions:
            args = [self._term(t, variables, dot) for t in tokens[1:]]
            if has_piped:
                args.append(piped)
            return self.functions[tokens[0]](*args)
        if len(tokens) != 1 or has_piped:
            raise ValueError(f"unsupported command {text!r}")
        return self._term(tokens[0], variables, dot)

    def pipeline(self, text: str, variables: dict[str, Any], dot: Any) -> Any:
        value, has = None, False
        for part in self._split(text, "|"):
            value = self._command(part, variables, dot, value, has)
            has = True
        return value

    # --- templates ------------------------------------------------------------------------

    def render(self, text: str) -> str:
        pieces: list[tuple[str, str]] = []  # ("text", s) or ("action", s)
        pos = 0
        for match in _ACTION.finditer(text):
            before = text[pos : match.start()]
            if match.group(1).startswith("{{-"):
                before = before.rstrip()
            pieces.append(("text", before))
            pieces.append(("action", match.group(2).strip()))
            pos = match.end()
            if match.group(3).endswith("-}}"):
                rest = text[pos:]
                pos += len(rest) - len(rest.lstrip())
        pieces.append(("text", text[pos:]))
        out: list[str] = []
        self._block(pieces, 0, {"$": self.root}, out, emit=True)
        return "".join(out)

    def _block(
        self,
        pieces: list[tuple[str, str]],
        i: int,
        variables: dict[str, Any],
        out: list[str],
        *,
        emit: bool,
    ) -> tuple[int, str]:
        """Render from i until an `else…`/`end` at this level; returns (index, that action)."""
        while i < len(pieces):
            kind, body = pieces[i]
            i += 1
            if kind == "text":
                if emit:
                    out.append(body)
                continue
            if body == "end" or body == "else" or body.startswith("else if "):
                return i - 1, body
            if body.startswith("if "):
                taken = emit and not _empty(self.pipeline(body[3:], variables, self.root))
                done = taken
                i, stop = self._block(pieces, i, variables, out, emit=taken)
                while stop != "end":
                    if stop.startswith("else if "):
                        branch = (
                            emit
                            and not done
                            and not _empty(self.pipeline(stop[8:], variables, self.root))
                        )
                    else:
                        branch = emit and not done
                    done = done or branch
                    i, stop = self._block(pieces, i + 1, variables, out, emit=branch)
                i += 1
                continue
            assign = re.match(r"^(\$\w+)\s*:?=\s*(.*)$", body, re.S)
            if assign:
                if emit:
                    variables[assign.group(1)] = self.pipeline(
                        assign.group(2), variables, self.root
                    )
                continue
            if emit:
                value = self.pipeline(body, variables, self.root)
                out.append(
                    ""
                    if value is None
                    else str(value).lower()
                    if isinstance(value, bool)
                    else str(value)
                )
        return i, ""

    def render_chart(self) -> list[dict[str, Any]]:
        """Every document of every template, parsed."""
        docs = []
        for path in sorted((self.chart / "templates").glob("*.yaml")):
            for doc in yaml.safe_load_all(self.render(path.read_text())):
                if isinstance(doc, dict):
                    docs.append(doc)
        return docs


__all__ = ["Renderer", "shlex"]
