"""Tampered conformance bundles are never accepted, and each rejection is one clear line.

Every conformance case that must verify (../shared/vectors/conformance) is mutated where its
security lives: signature, certificate, inclusion proof, checkpoint, SET, integrated time,
log index and id, entry body, media types, sizes, nesting, number constants and types. The
mutated bundle goes through `verify-bundle` exactly as the conformance runs do, in both
engines; it must be rejected with a single `verification FAILED: ...` line, never a
traceback or an "unexpected error". Hypothesis runs derandomized with a bounded number of
examples, so a run is reproducible and short.

A few fields are signed by nothing, in kubeward as in sigstore-go: the DSSE `keyid` and the
public-key `hint`, the integrated time of an entry without an inclusion promise, and
signatures in a checkpoint by keys other than the log's (witness cosignatures). The generic
mutations may change those and be accepted; `UNSIGNED` lists them.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.verify.cli import main
from tests.conftest import require_shared
from tests.verify.conftest import VECTORS
from tests.verify.test_conformance import _argv

CONFORMANCE = VECTORS / "conformance"
ENGINES = ("own", "auto")
UNSIGNED = (
    re.compile(r"^dsseEnvelope\.signatures\.\d+\.keyid$"),
    re.compile(r"^verificationMaterial\.publicKey(\.hint)?$"),
)
Path_ = tuple[str | int, ...]


def _passing_cases() -> list[dict[str, Any]]:
    path = CONFORMANCE / "cases.json"
    if not path.exists():
        return []
    return [c for c in json.loads(path.read_text())["cases"] if c["expect"] == "pass"]


CASES = _passing_cases()


# --- verification, as the conformance suite runs it ------------------------------------------


def _verify(case: dict[str, Any], bundle: bytes, engine: str, mode: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bundle.sigstore.json"
        path.write_bytes(bundle)
        argv = _argv(case, mode, engine)
        argv[argv.index("--bundle") + 1] = str(path)
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(argv)
    return rc, err.getvalue()


def _assert_clear_rejection(rc: int, err: str, what: str) -> None:
    assert rc != 0, f"tampered bundle accepted: {what}"
    lines = err.splitlines()
    assert len(lines) == 1, f"{what}: not one line: {err!r}"
    assert lines[0].startswith("verification FAILED: "), f"{what}: {err!r}"
    assert "unexpected error" not in err and "Traceback" not in err, f"{what}: {err!r}"
    assert len(lines[0]) < 600, f"{what}: a message, not a dump: {err[:200]!r}"


# --- mutation helpers ----------------------------------------------------------------------


def _get(doc: Any, path: Path_) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: Path_, value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _paths(doc: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every node's path, the root excluded."""
    out: list[Path_] = []
    items: Any = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    )
    for key, value in items:
        out.append((*prefix, key))
        out += _paths(value, (*prefix, key))
    return out


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _flip_b64(data: st.DataObject, text: str) -> str:
    """The base64 text with one bit of its decoded bytes flipped."""
    raw = bytearray(base64.b64decode(text))
    index = data.draw(st.integers(0, len(raw) - 1), label="byte")
    raw[index] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    return base64.b64encode(bytes(raw)).decode()


def _resize_b64(data: st.DataObject, text: str) -> str:
    raw = base64.b64decode(text)
    if data.draw(st.booleans(), label="shorter") and len(raw) > 1:
        cut = data.draw(st.integers(1, len(raw) - 1), label="cut")
        return base64.b64encode(raw[: len(raw) - cut]).decode()
    extra = data.draw(st.binary(min_size=1, max_size=64), label="extra")
    return base64.b64encode(raw + extra).decode()


def _entry(doc: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = doc["verificationMaterial"]["tlogEntries"][0]
    return entry


def _signature_paths(doc: dict[str, Any]) -> list[Path_]:
    if "dsseEnvelope" in doc:
        return [("dsseEnvelope", "signatures", 0, "sig")]
    return [("messageSignature", "signature")]


def _certificate_path(doc: dict[str, Any]) -> Path_ | None:
    material = doc["verificationMaterial"]
    if "certificate" in material:
        return ("verificationMaterial", "certificate", "rawBytes")
    if "x509CertificateChain" in material:
        return ("verificationMaterial", "x509CertificateChain", "certificates", 0, "rawBytes")
    return None


# --- the mutations: each returns the tampered bundle text and what it did ------------------


def m_signature(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    path = data.draw(st.sampled_from(_signature_paths(doc)), label="signature")
    resize = data.draw(st.booleans(), label="resize")
    old = _get(doc, path)
    _set(doc, path, _resize_b64(data, old) if resize else _flip_b64(data, old))
    return json.dumps(doc).encode(), f"signature {'resized' if resize else 'bit flipped'}"


def m_payload(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    if "dsseEnvelope" in doc:
        envelope = doc["dsseEnvelope"]
        if data.draw(st.booleans(), label="payload type"):
            envelope["payloadType"] = data.draw(
                st.sampled_from(["application/vnd.in-toto+jsonx", "application/json", ""])
            )
            return json.dumps(doc).encode(), "DSSE payloadType changed"
        envelope["payload"] = _flip_b64(data, envelope["payload"])
        return json.dumps(doc).encode(), "DSSE payload bit flipped"
    digest = doc["messageSignature"].get("messageDigest")
    if digest is None:
        return None
    digest["digest"] = _flip_b64(data, digest["digest"])
    return json.dumps(doc).encode(), "message digest bit flipped"


def m_certificate(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    path = _certificate_path(doc)
    if path is None:
        return None
    how = data.draw(st.sampled_from(["flip", "resize", "other"]), label="certificate")
    old = _get(doc, path)
    if how == "other":
        others = {
            _get(d, p) for d in (_load(c) for c in CASES) if (p := _certificate_path(d)) is not None
        } - {old}
        new = data.draw(st.sampled_from(sorted(others)), label="other certificate")
    else:
        new = _flip_b64(data, old) if how == "flip" else _resize_b64(data, old)
    _set(doc, path, new)
    return json.dumps(doc).encode(), f"certificate: {how}"


def m_inclusion_proof(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    proof = _entry(doc).get("inclusionProof")
    if proof is None:
        return None
    how = data.draw(
        st.sampled_from(["hash", "drop", "add", "index", "size", "root"]), label="proof"
    )
    hashes = proof["hashes"]
    if how == "hash" and hashes:
        i = data.draw(st.integers(0, len(hashes) - 1))
        hashes[i] = _flip_b64(data, hashes[i])
    elif how == "drop" and hashes:
        del hashes[data.draw(st.integers(0, len(hashes) - 1))]
    elif how == "add":
        hashes.insert(data.draw(st.integers(0, len(hashes))), base64.b64encode(b"\0" * 32).decode())
    elif how in ("index", "size"):
        key = "logIndex" if how == "index" else "treeSize"
        delta = data.draw(st.integers(-5, 5).filter(bool), label="delta")
        proof[key] = str(int(proof[key]) + delta)
    else:
        proof["rootHash"] = _flip_b64(data, proof["rootHash"])
    return json.dumps(doc).encode(), f"inclusion proof: {how}"


def m_checkpoint(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    proof = _entry(doc).get("inclusionProof")
    if proof is None:
        return None
    text: str = proof["checkpoint"]["envelope"]
    note, _, signatures = text.partition("\n\n")
    if data.draw(st.booleans(), label="note or signatures"):
        i = data.draw(st.integers(0, len(note) - 1), label="position")
        replacement = data.draw(st.sampled_from("0aZ+/\n -"), label="char")
        if note[i] == replacement:
            return None
        note = note[:i] + replacement + note[i + 1 :]
        what = "checkpoint note changed"
    else:
        # Every signature line, so the log's own signature is among them.
        lines = []
        for line in signatures.rstrip("\n").split("\n"):
            name, _, sig = line.rpartition(" ")
            lines.append(f"{name} {_flip_b64(data, sig)}")
        signatures = "\n".join(lines) + "\n"
        what = "checkpoint signatures bit flipped"
    proof["checkpoint"]["envelope"] = f"{note}\n\n{signatures}"
    return json.dumps(doc).encode(), what


def m_set(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    promise = _entry(doc).get("inclusionPromise")
    if promise is None:
        return None
    resize = data.draw(st.booleans(), label="resize")
    old = promise["signedEntryTimestamp"]
    promise["signedEntryTimestamp"] = _resize_b64(data, old) if resize else _flip_b64(data, old)
    return json.dumps(doc).encode(), "SET tampered"


OUT_OF_RANGE = [-1, -(2**63), 2**63, 10**30, "-5", "1e3", 1.5, "", " 12", "0x10", True]


def m_integrated_time(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    entry = _entry(doc)
    if data.draw(st.booleans(), label="out of range"):
        entry["integratedTime"] = data.draw(st.sampled_from(OUT_OF_RANGE), label="value")
        return json.dumps(doc).encode(), f"integratedTime {entry['integratedTime']!r}"
    if "inclusionPromise" not in entry:
        return None  # unsigned without a promise (as in sigstore-go): not tampering
    delta = data.draw(st.integers(-(10**8), 10**8).filter(bool), label="delta")
    entry["integratedTime"] = str(int(entry["integratedTime"]) + delta)
    return json.dumps(doc).encode(), f"integratedTime shifted by {delta}"


def m_log_entry(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    entry = _entry(doc)
    how = data.draw(st.sampled_from(["index", "index-range", "log-id", "body", "kind"]))
    if how == "index":
        if "inclusionPromise" not in entry:
            return None  # without a promise the entry's own logIndex is signed by nothing
        delta = data.draw(st.integers(-1000, 1000).filter(bool), label="delta")
        entry["logIndex"] = str(int(entry["logIndex"]) + delta)
    elif how == "index-range":
        entry["logIndex"] = data.draw(st.sampled_from(OUT_OF_RANGE), label="value")
    elif how == "log-id":
        entry["logId"]["keyId"] = _flip_b64(data, entry["logId"]["keyId"])
    elif how == "body":
        entry["canonicalizedBody"] = _flip_b64(data, entry["canonicalizedBody"])
    else:
        key = data.draw(st.sampled_from(["kind", "version"]))
        entry["kindVersion"][key] = data.draw(
            st.sampled_from(["hashedrekord", "dsse", "intoto", "0.0.1", "0.0.2", "0.0.3", ""])
        )
        if _load_entry_kind(doc) == (entry["kindVersion"]["kind"], entry["kindVersion"]["version"]):
            return None
    return json.dumps(doc).encode(), f"log entry: {how}"


def _load_entry_kind(doc: dict[str, Any]) -> tuple[str, str]:
    body = json.loads(base64.b64decode(_entry(doc)["canonicalizedBody"]))
    return body["kind"], body["apiVersion"]


MEDIA_TYPES = [
    "application/vnd.dev.sigstore.bundle+json;version=0.4",
    "application/vnd.dev.sigstore.bundle.v0.4+json",
    "application/vnd.dev.sigstore.bundle+json",
    "Application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle.v0.3+json ",
    "application/json",
    "",
]


def m_media_type(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    from kubeward.verify._bundle import BUNDLE_MEDIA_TYPES

    value: Any = data.draw(
        st.one_of(st.sampled_from(MEDIA_TYPES), st.text(max_size=30), st.integers()),
        label="media type",
    )
    if value in BUNDLE_MEDIA_TYPES:
        return None
    doc["mediaType"] = value
    return json.dumps(doc).encode(), f"mediaType {value!r}"


def m_sizes(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    entries = doc["verificationMaterial"]["tlogEntries"]
    how = data.draw(st.sampled_from(["duplicate-entry", "33-entries", "hashes", "no-entries"]))
    if how == "duplicate-entry":
        entries.append(copy.deepcopy(entries[0]))
    elif how == "33-entries":
        entries.extend(copy.deepcopy(entries[0]) for _ in range(32))
    elif how == "hashes":
        proof = entries[0].get("inclusionProof")
        if proof is None or not proof["hashes"]:
            return None
        proof["hashes"] = proof["hashes"] * data.draw(st.integers(2, 20), label="times")
    else:
        entries.clear()
    return json.dumps(doc).encode(), f"sizes: {how}"


def m_nesting(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    depth = data.draw(st.sampled_from([1, 3, 65, 1000, 100_000]), label="depth")
    as_list = data.draw(st.booleans(), label="list")
    old = _get(doc, path)
    marker = "\u2603nested\u2603"
    _set(doc, path, marker)
    opening, closing = ("[" * depth, "]" * depth) if as_list else ('{"a":' * depth, "}" * depth)
    text = json.dumps(doc).replace(json.dumps(marker), opening + json.dumps(old) + closing)
    return text.encode(), f"{_dotted(path)} nested {depth} deep"


def m_constants(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    token = data.draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]))
    marker = "\u2603constant\u2603"
    _set(doc, path, marker)
    text = json.dumps(doc).replace(json.dumps(marker), token)
    return text.encode(), f"{_dotted(path)} = {token}"


def m_types(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    old = _get(doc, path)
    new = data.draw(
        st.sampled_from([None, 0, -1, 2**64, "", "x", [], [1], {}, {"a": 1}, True, 1.5]),
        label="value",
    )
    if type(new) is type(old) and new == old:
        return None
    _set(doc, path, new)
    return json.dumps(doc).encode(), f"{_dotted(path)} = {new!r} (was {type(old).__name__})"


def m_duplicate_key(data: st.DataObject, doc: dict[str, Any]) -> tuple[bytes, str] | None:
    """A key given twice, the second time with a value of another case: protojson refuses."""
    key = data.draw(st.sampled_from(sorted(doc)), label="key")
    text = json.dumps(doc)
    return (text[:-1] + f', "{key}": null}}').encode(), f"duplicate key {key}"


MUTATIONS = {
    f.__name__.removeprefix("m_"): f
    for f in (
        m_signature,
        m_payload,
        m_certificate,
        m_inclusion_proof,
        m_checkpoint,
        m_set,
        m_integrated_time,
        m_log_entry,
        m_media_type,
        m_sizes,
        m_nesting,
        m_constants,
        m_types,
        m_duplicate_key,
    )
}
GENERIC = frozenset({"types", "nesting", "constants"})
"""Mutations at any path: only these may touch a field in `UNSIGNED`."""


def _load(case: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((CONFORMANCE / case["bundle"]).read_text())
    return doc


# --- the property --------------------------------------------------------------------------


@pytest.mark.shared
@settings(
    derandomize=True,
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_tampered_bundles_are_rejected_in_one_clear_line(data: st.DataObject) -> None:
    require_shared("vectors", "conformance", "cases.json")
    case = data.draw(st.sampled_from(CASES), label="case")
    name = data.draw(st.sampled_from(sorted(MUTATIONS)), label="mutation")
    doc = _load(case)
    mutated = MUTATIONS[name](data, doc)
    if mutated is None:
        return  # this mutation does not apply to this bundle
    bundle, what = mutated
    mode = data.draw(st.sampled_from(["path", "digest"]), label="mode")
    for engine in ENGINES:
        rc, err = _verify(case, bundle, engine, mode)
        label = f"{case['case']}: {what} ({engine} engine, {mode} mode)"
        if rc == 0 and name in GENERIC and any(p.match(what.split(" ")[0]) for p in UNSIGNED):
            continue
        _assert_clear_rejection(rc, err, label)


# --- the named regressions of issue 12 ---------------------------------------------------------


def _happy() -> tuple[dict[str, Any], dict[str, Any]]:
    case = next(c for c in CASES if c["case"] == "happy-path-v0.3")
    return case, _load(case)


def _with_entry(key: str, value: Any) -> bytes:
    _, doc = _happy()
    _entry(doc)[key] = value
    return json.dumps(doc).encode()


def _entries(count: int) -> bytes:
    _, doc = _happy()
    entries = doc["verificationMaterial"]["tlogEntries"]
    entries.extend(copy.deepcopy(entries[0]) for _ in range(count - 1))
    return json.dumps(doc).encode()


def _nested(depth: int) -> bytes:
    _, doc = _happy()
    text = json.dumps(doc)
    return f'{{"nest": {"[" * depth}1{"]" * depth}, {text[1:]}'.encode()


def _constant(token: str) -> bytes:
    _, doc = _happy()
    _entry(doc)["logIndex"] = "\u2603"
    return json.dumps(doc).replace(json.dumps("\u2603"), token).encode()


REGRESSIONS = {
    "nesting-100000": (_nested(100_000), "bundle nests deeper than 64 levels"),
    "nesting-65": (_nested(65), "bundle nests deeper than 64 levels"),
    "infinity": (_constant("Infinity"), "bundle is not valid JSON: Infinity is not a JSON number"),
    "nan": (_constant("NaN"), "bundle is not valid JSON: NaN is not a JSON number"),
    "overflowing-float": (_constant("1e400"), "bundle is not valid JSON: number 1e400 is out"),
    "log-index-10**30": (
        _with_entry("logIndex", str(10**30)),
        f"tlog entry logIndex {10**30} is out of range [0, {2**63 - 1}]",
    ),
    "integrated-time-negative": (
        _with_entry("integratedTime", "-1"),
        "integratedTime -1 is out of range",
    ),
    "integrated-time-over-int64": (
        _with_entry("integratedTime", 2**63),
        f"integratedTime {2**63} is out of range",
    ),
    "duplicate-tlog-entries": (_entries(2), "duplicate transparency log entry (log index"),
    "33-tlog-entries": (_entries(33), "too many tlog entries (33 > 32)"),
}


@pytest.mark.shared
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_named_regressions_are_one_clear_line(name: str, engine: str) -> None:
    require_shared("vectors", "conformance", "cases.json")
    bundle, reason = REGRESSIONS[name]
    case, _ = _happy()
    rc, err = _verify(case, bundle, engine, "path")
    _assert_clear_rejection(rc, err, name)
    assert reason in err, err
