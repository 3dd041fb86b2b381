"""Signed compliance attestations: an in-toto Statement with the test-result predicate over a
run, in a DSSE envelope signed with a local key (ARCHITECTURE.md "Reports and release gates").

The statement binds what a reader of a compliance claim needs to check it:

* subjects: the implementation when it has a digest (its launch binary or script, the account
  artifact, the account's creation code keccak) and always the ``results.json`` judged;
* predicate ``https://in-toto.io/attestation/test-result/v0.1``: ``result`` (PASSED, WARNED
  when the gate passes with known deviations, FAILED), the rule ids that passed and failed,
  and ``configuration`` descriptors for the suite (version, component, profile, seed), the rule
  catalogue (digest), the results (digest and every rule's exact verdict), the target's
  identity and the baseline used (digest, gate).

Statement, envelope, keys and signatures are the in-toto libraries' (``in-toto-attestation``,
``securesystemslib``): nothing here hashes a signature by hand. ``verify_attestation`` checks
the signature, the statement's shape, the results' digest and that every verdict matches.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.report.baseline import BaselineReport
from conformance.report.model import RunResults, Verdict

PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
SUITE_NAME = "attestmesh-conformance"
PRIVATE_KEY_FILE = "amc-attest.key"
PUBLIC_KEY_FILE = "amc-attest.pub"
_IDENTITY_KEYS = ("kind", "mutant", "url", "launch", "artifact", "rpc", "address", "version",
                  "creation_code_keccak", "runtime_code_keccak")


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data`` (a DigestSet value)."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class TargetFile:
    """A file that is the implementation (a binary, a script, an artifact) and its digest."""

    name: str
    sha256: str

    @classmethod
    def of(cls, path: Path) -> TargetFile:
        """The digest of ``path``; UsageError when it cannot be read."""
        try:
            return cls(str(path), sha256_hex(Path(path).read_bytes()))
        except OSError as exc:
            raise UsageError(f"--binary={path}: cannot read ({exc.strerror or exc})") from None


def target_files(run: RunResults, extra: Sequence[Path] = ()) -> list[TargetFile]:
    """The implementation's files: ``extra`` (``--binary``), the account ``--artifact``, and
    for a ``--launch`` command its program and its first argument naming a file (the script)."""
    import shlex
    import shutil

    found = [TargetFile.of(p) for p in extra]
    target = run.target
    candidates: list[str] = []
    if target.get("artifact"):
        candidates.append(str(target["artifact"]))
    if target.get("launch"):
        words = shlex.split(str(target["launch"]))
        program = shutil.which(words[0]) if words else None
        candidates += [program] if program else []
        candidates += [w for w in words[1:2] if os.path.isfile(w)]
    for name in candidates:
        if os.path.isfile(name) and name not in {f.name for f in found}:
            found.append(TargetFile.of(Path(name)))
    return found


def _descriptor(**fields: Any) -> Any:
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor

    return ResourceDescriptor(**fields)


def _result(run: RunResults, baseline: BaselineReport | None) -> str:
    gate = baseline.exit_code() if baseline is not None else run.exit_code()
    if gate:
        return "FAILED"
    failing = any(r.verdict in (Verdict.FAIL, Verdict.ERROR) for r in run.results)
    return "WARNED" if failing else "PASSED"


def _configuration(run: RunResults, results_digest: str,
                   baseline: BaselineReport | None) -> list[Any]:
    identity = {k: str(v) for k, v in run.target.items() if k in _IDENTITY_KEYS and v != ""}
    suite = {"suiteVersion": run.suite_version, "component": run.component,
             "profile": run.profile, "seed": str(run.seed), "strict": str(run.strict).lower(),
             "startedAt": run.started_at}
    if run.repeat:
        suite["repeat"] = json.dumps(run.repeat, sort_keys=True)
    verdicts = {r.rule_id: r.verdict.value for r in run.results}
    flaky = sorted(r.rule_id for r in run.results if r.flaky)
    config = [
        _descriptor(name=SUITE_NAME, uri=f"pkg:pypi/{SUITE_NAME}@{run.suite_version}",
                    annotations=suite),
        _descriptor(name="rules.toml",
                    digest={"sha256": run.catalogue_digest.removeprefix("sha256:")}),
        _descriptor(name="results.json", digest={"sha256": results_digest},
                    annotations={"verdicts": verdicts, "flaky": flaky,
                                 "exitCode": str(run.exit_code())}),
        _descriptor(name="target", uri=identity.get("url", ""), annotations=identity),
    ]
    if baseline is not None:
        b = baseline.baseline
        config.append(_descriptor(
            name=f"baseline {Path(b.origin).name}", digest={"sha256": b.digest.split(":")[-1]},
            annotations={"entries": str(len(b.entries)), "gate": str(baseline.exit_code())}))
    return config


def build_statement(run: RunResults, results_bytes: bytes, *,
                    baseline: BaselineReport | None = None,
                    files: Sequence[TargetFile] = (), url: str = "") -> dict[str, Any]:
    """The in-toto Statement (v1, test-result v0.1 predicate) of ``run`` as a JSON object;
    ``results_bytes`` are the exact bytes of its results.json, ``url`` where the run is shown."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
    from in_toto_attestation.v1.statement import Statement

    digest = sha256_hex(results_bytes)
    predicate = test_result_pb2.TestResult(  # type: ignore[attr-defined]
        result=_result(run, baseline),
        configuration=[d.pb for d in _configuration(run, digest, baseline)],
        url=url,
        passed_tests=[r.rule_id for r in run.results if r.verdict is Verdict.PASS],
        failed_tests=[r.rule_id for r in run.results
                      if r.verdict in (Verdict.FAIL, Verdict.ERROR)],
    )
    subjects = [_descriptor(name=f.name, digest={"sha256": f.sha256}).pb for f in files]
    keccak = run.target.get("creation_code_keccak")
    if keccak:
        subjects.append(_descriptor(name=f"{run.component} creation code",
                                    digest={"keccak256": str(keccak).removeprefix("0x")}).pb)
    subjects.append(_descriptor(name="results.json", digest={"sha256": digest}).pb)
    statement = Statement(subjects, PREDICATE_TYPE, json_format.MessageToDict(predicate))
    statement.validate()
    return json_format.MessageToDict(statement.pb)


def generate_keypair(directory: Path) -> tuple[Path, Path]:
    """Write a fresh ed25519 key pair (PKCS#8 PEM private key, mode 0600; SPKI PEM public key)."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_private_key,
    )
    from securesystemslib.signer import CryptoSigner

    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    if private.exists():
        raise UsageError(f"{private}: already exists (refusing to overwrite a key)")
    pem = CryptoSigner.generate_ed25519().private_bytes
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    key = load_pem_private_key(pem, password=None)
    public.write_bytes(key.public_key().public_bytes(Encoding.PEM,
                                                     PublicFormat.SubjectPublicKeyInfo))
    return private, public


def sign_statement(statement: dict[str, Any], private_key_pem: bytes) -> dict[str, Any]:
    """The DSSE envelope of ``statement`` signed with a PEM private key."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner

    try:
        key = load_pem_private_key(private_key_pem, password=None)
        signer = CryptoSigner(key)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--key: not an unencrypted PEM private key ({exc})") from None
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")
    envelope = Envelope(payload, PAYLOAD_TYPE, {})
    envelope.sign(signer)
    return envelope.to_dict()


def public_key(pem: bytes) -> Any:
    """An ``SSlibKey`` from a PEM public key; UsageError when it is not one."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.signer import SSlibKey

    try:
        return SSlibKey.from_crypto(load_pem_public_key(pem))  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--public-key: not a PEM public key ({exc})") from None


def open_envelope(envelope: Any, key: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The statement inside a DSSE ``envelope`` if ``key`` signed it, and what is wrong."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError

    try:
        parsed = Envelope.from_dict(envelope)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"attestation: not a DSSE envelope ({type(exc).__name__}: {exc})") \
            from None
    try:
        parsed.verify([key], 1)
    except VerificationError as exc:
        return None, [f"signature: not valid for the given public key ({exc})"]
    if parsed.payload_type != PAYLOAD_TYPE:
        return None, [f"payloadType={parsed.payload_type!r}, expected {PAYLOAD_TYPE}"]
    try:
        statement = json.loads(parsed.payload)
        _validate_statement(statement)
    except (ValueError, TypeError) as exc:
        return None, [f"statement: malformed ({exc})"]
    return statement, []


def _validate_statement(statement: dict[str, Any]) -> None:
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    pb = json_format.ParseDict(statement, statement_pb2.Statement())  # type: ignore[attr-defined]
    Statement.copy_from_pb(pb).validate()
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise ValueError(f"predicateType={statement.get('predicateType')!r}")


def _config(statement: dict[str, Any], name: str) -> dict[str, Any]:
    for item in statement["predicate"].get("configuration", []):
        if item.get("name") == name:
            return dict(item)
    return {}


def compare_with_results(statement: dict[str, Any], run: RunResults,
                         results_bytes: bytes) -> list[str]:
    """What in a verified statement does not match the results it claims (empty: all match)."""
    problems = []
    digest = sha256_hex(results_bytes)
    subjects = {s.get("name"): s.get("digest", {}) for s in statement.get("subject", [])}
    if subjects.get("results.json", {}).get("sha256") != digest:
        problems.append(f"results.json digest: attested "
                        f"{subjects.get('results.json', {}).get('sha256')}, file has {digest}")
    stated = _config(statement, "results.json").get("annotations", {}).get("verdicts", {})
    actual = {r.rule_id: r.verdict.value for r in run.results}
    for rule_id in sorted(stated.keys() | actual.keys()):
        if stated.get(rule_id) != actual.get(rule_id):
            problems.append(f"{rule_id}: attested {stated.get(rule_id, 'absent')}, "
                            f"results say {actual.get(rule_id, 'absent')}")
    predicate = statement["predicate"]
    passed = sorted(r for r, v in actual.items() if v == "PASS")
    if sorted(predicate.get("passedTests", [])) != passed:
        problems.append("passedTests do not list exactly the rules that PASS")
    suite = _config(statement, SUITE_NAME).get("annotations", {})
    for key, value in (("suiteVersion", run.suite_version), ("component", run.component),
                       ("profile", run.profile), ("seed", str(run.seed))):
        if suite.get(key) != value:
            problems.append(f"{key}: attested {suite.get(key)!r}, results say {value!r}")
    catalogue = _config(statement, "rules.toml").get("digest", {}).get("sha256")
    if catalogue != run.catalogue_digest.removeprefix("sha256:"):
        problems.append(f"catalogue digest: attested {catalogue}, results say "
                        f"{run.catalogue_digest}")
    return problems


def verify_attestation(envelope: Any, run: RunResults, results_bytes: bytes,
                       public_key_pem: bytes, *, baseline_bytes: bytes | None = None
                       ) -> list[str]:
    """Every reason the attestation does not hold for these results (empty: it holds)."""
    statement, problems = open_envelope(envelope, public_key(public_key_pem))
    if statement is None:
        return problems
    problems = compare_with_results(statement, run, results_bytes)
    if baseline_bytes is not None:
        recorded = [c for c in statement["predicate"].get("configuration", [])
                    if str(c.get("name", "")).startswith("baseline ")]
        want = sha256_hex(baseline_bytes)
        if not recorded or recorded[0].get("digest", {}).get("sha256") != want:
            problems.append(f"baseline: the attestation does not name this baseline ({want})")
    return problems
