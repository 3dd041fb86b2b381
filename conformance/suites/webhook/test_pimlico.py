"""``POST /pimlico`` (PROTOCOL.md §5 "Pimlico body", Standard Webhooks): WH-047…WH-058.

Requests are signed with the run's secret by the profile's key derivation. WH-057 also
launches variants with a secret every derivation reads (``dual_secret``): with either prefix
§5 allows, and with ``PIMLICO_KEY_DERIVATION`` naming each other derivation; each must accept
its own derivation's MAC and refuse the others'. Every failure records the answers the oracle
allows and the sender's membership, so ``amc replay --reference`` can judge a re-signed replay
on a fresh chain.

Timestamp boundaries are exact (±300 accepted, ±301 refused): a launched webhook shares the
suite's clock, and each boundary request is sent early in a wall-clock second so both sides
read the same second; a ``--url`` target gets one second of margin each way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import ChainView, Expectation, Expected, expect_pimlico
from conformance.oracle.webhook_body import BodyReading, read_pimlico_body
from conformance.protocol.selectors import selector
from conformance.protocol.webhook_wire import (
    SECRET_PREFIXES,
    KeyDerivation,
    SecretFormatError,
    derive_hmac_key,
)
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest, Signing
from conformance.targets.webhook_http import Answer
from conformance.targets.webhook_replay import dual_secret

SPONSOR = {"sponsor": True}
NO_SPONSOR = {"sponsor": False}
_FORBIDDEN_INNER = selector("transferOwnership(address)") + bytes(32)
"""transferOwnership(address): never sponsorable (PROTOCOL.md §1)."""


def _route(wh: Harness) -> str:
    if not wh.profile.has_pimlico_route:
        pytest.skip("POST /pimlico exists only under the pimlico generation")
    return wh.need_secret()


def _event(wh: Harness, role: str = "member", **form: object) -> bytes:
    sender, call = wh.approvable(role)
    return cases.pimlico(sender, call, wh.profile.chain_id, **form)  # type: ignore[arg-type]


def _aligned_now() -> int:
    """Now, early in a second (so a request sent at once is read in the same second)."""
    while time.time() % 1 > 0.6:
        time.sleep(0.05)
    return int(time.time())


def _send(wh: Harness, body: bytes, signing: Signing | None = None, *,
          aligned: bool = True) -> tuple[RecordedRequest, Answer, int]:
    """Send signed at ``now`` (early in a second when ``aligned``: timestamp boundaries)."""
    now = _aligned_now() if aligned else int(time.time())
    record = RecordedRequest("POST", "/pimlico", "", body, signing=signing or Signing(),
                             extra=_chain_facts(wh, body))
    return record, wh.send(record, now=now), now


def _chain_facts(wh: Harness, body: bytes) -> dict[str, Any]:
    """What a replay's fresh standard chain must add for this event to be decided the same:
    its sender as a factory member, when it is one here (``amc replay --reference``)."""
    reading = read_pimlico_body(body, wh.profile.chain_id)
    if wh.peer is None or not isinstance(reading, BodyReading):
        return {}
    if reading.sender not in wh.scenario().members:
        return {}
    return {"chain": {"members": ["0x" + reading.sender.hex()]}}


def _view(wh: Harness) -> ChainView:
    """The chain for the oracle (``--url``: the standard one; only unread there)."""
    return wh.view() if wh.peer is not None else wh.view_unknown()


def _expect(wh: Harness, body: bytes, signing: Signing | None, now: int, *,
            secret: str | None, derivation: KeyDerivation | None = None,
            route: bool = True) -> Expectation:
    """The oracle's answer for ``body`` signed per ``signing`` at ``now`` with ``secret``."""
    derivation = derivation or wh.settings.key_derivation
    headers = ((signing or Signing()).headers(secret, derivation.value, body, now)
               if secret is not None else {})
    return expect_pimlico(body, headers, route=route, secret=secret, derivation=derivation,
                          now=now, config=wh.policy, view=_view(wh), cap=wh.cap_state(b""))


def _judge(wh: Harness, rule: str, body: bytes, signing: Signing | None, observe: Observer,
           message: str) -> None:
    secret = _route(wh)
    observe.case()
    record, answer, now = _send(wh, body, signing)
    wh.judge(rule, record, answer, _expect(wh, body, signing, now, secret=secret), message)


def _margin(wh: Harness) -> int:
    return 0 if wh.owns_chain else 1


def _same_as_alchemy(wh: Harness, observe: Observer, sender: bytes, call: bytes,
                     chain_id: int) -> None:
    """The event answers sponsor:true exactly when POST / approves the same operation."""
    _route(wh)
    observe.case()
    chain = hex(chain_id)
    _alchemy_record, alchemy = wh.alchemy(cases.alchemy(sender, call, chain))
    approved = alchemy.status == 200 and alchemy.json == {"approved": True}
    record, answer = wh.pimlico(cases.pimlico(sender, call, chain_id))
    verdict = Expected(200, {"sponsor": approved}, f"200 sponsor:{str(approved).lower()}")
    wh.judge("WH-047", record, answer, Expectation((verdict,), "POST / on the same operation"),
             f"POST / {'approved' if approved else 'denied'} this operation")


@rules("WH-047")
@given(role=st.sampled_from(["member", "path-a", "stranger", "no-code"]),
       inner=st.sampled_from([cases.DEFAULT_INNER, _FORBIDDEN_INNER]))
def test_policy_answer_is_sponsor_true_or_false(wh: Harness, observe: Observer, role: str,
                                                inner: bytes) -> None:
    """An operation the policy approves → 200 {"sponsor":true}; one it denies → 200
    {"sponsor":false} (the policy's verdict read from POST / on the same operation)."""
    wh.need_chain()
    wh.need_token()
    wh.confirm_baseline("WH-047")
    sender = wh.add_sender(role)
    _same_as_alchemy(wh, observe, sender, cases.execute(wh.actors.cluster, inner),
                     wh.profile.chain_id)


@rules("WH-047")
def test_denials_are_sponsor_false(wh: Harness, observe: Observer) -> None:
    """Wrong chain, forbidden inner selector, non-zero value: the same verdict as POST /."""
    wh.need_chain()
    wh.need_token()
    for call, chain in ((cases.execute(wh.actors.cluster), 1),
                        (cases.execute(wh.actors.cluster, _FORBIDDEN_INNER), wh.profile.chain_id),
                        (cases.execute(wh.actors.cluster, value=1), wh.profile.chain_id)):
        _same_as_alchemy(wh, observe, wh.add_sender("member"), call, chain)


@rules("WH-048")
@given(msg_id=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                      max_size=40), spaces=st.booleans())
def test_valid_signature_is_accepted(wh: Harness, observe: Observer, msg_id: str,
                                     spaces: bool) -> None:
    """HMAC-SHA256 over ``id.timestamp.rawBody`` as ``v1,<base64>`` is accepted, whatever
    the message id and however the JSON is spaced (the raw bytes are signed)."""
    wh.need_chain()
    body = _event(wh)
    if spaces:
        body = body.replace(b",", b", ").replace(b":", b": ")
    _judge(wh, "WH-048", body, Signing(msg_id=msg_id), observe, "a valid signature")


@rules("WH-048")
def test_timestamps_within_300_s_are_accepted(wh: Harness, observe: Observer) -> None:
    """webhook-timestamp exactly 300 s (and 299 s) before or after now is accepted."""
    wh.need_chain()
    edge = 300 - _margin(wh)
    for offset in (-edge, edge, -299, 299, 0):
        _judge(wh, "WH-048", _event(wh), Signing(offset=offset), observe,
               f"timestamp {offset:+d} s")


def _mac(wh: Harness, secret: str, msg_id: str, stamp: int, body: bytes) -> str:
    key = derive_hmac_key(secret, wh.settings.key_derivation)
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@rules("WH-049")
def test_any_matching_entry_suffices(wh: Harness, observe: Observer) -> None:
    """Rotated keys: a wrong v1 entry before or after the right one, several wrong ones, and
    entries of other versions beside it still match."""
    wh.need_chain()
    garbage = "v1," + base64.b64encode(b"\x00" * 32).decode()
    rotated = "v1," + base64.b64encode(b"\x17" * 32).decode()
    for extra, own in (((garbage,), True), ((rotated, garbage), True), (("v2,abc",), True),
                       ((garbage, "v1a,zzz", rotated), True)):
        _judge(wh, "WH-049", _event(wh), Signing(extra_entries=extra, sign=own), observe,
               f"entries {extra} + own")


@rules("WH-050")
def test_other_versions_never_match(wh: Harness, observe: Observer) -> None:
    """The right MAC under v1a, v2, V1, v0 or no version is not a match (401)."""
    secret = _route(wh)
    wh.need_chain()
    for version in ("v1a", "v2", "V1", "v0", "", "v1 "):
        observe.case()
        body = _event(wh)
        now = _aligned_now()
        signing = Signing(extra_entries=(f"{version},{_mac(wh, secret, 'msg_amc', now, body)}",),
                          sign=False)
        record, answer = wh.pimlico(body, signing, now=now)
        wh.judge("WH-050", record, answer, _expect(wh, body, signing, now, secret=secret),
                 f"a {version or 'version-less'} entry was accepted")


@rules("WH-051")
def test_timestamps_past_300_s_are_refused(wh: Harness, observe: Observer) -> None:
    """webhook-timestamp 301 s (or more) before or after now → 401."""
    secret = _route(wh)
    edge = 301 + _margin(wh)
    for offset in (-edge, edge, -3600, 3600, -10**6):
        observe.case()
        body, signing = _event(wh) if wh.peer else b"{}", Signing(offset=offset)
        record, answer, now = _send(wh, body, signing)
        wh.judge("WH-051", record, answer, _expect(wh, body, signing, now, secret=secret),
                 f"a timestamp {offset:+d} s from now was accepted")


def _bad_signings(body: bytes) -> list[tuple[str, Signing]]:
    return [
        ("no signature header", Signing(drop=("webhook-signature",))),
        ("no webhook-id", Signing(drop=("webhook-id",))),
        ("no webhook-timestamp", Signing(drop=("webhook-timestamp",))),
        ("no headers", Signing(drop=("webhook-id", "webhook-timestamp", "webhook-signature"))),
        ("empty signature", Signing(sign=False)),
        ("wrong MAC", Signing(sign=False, extra_entries=("v1," + "A" * 44,))),
        ("tampered body", Signing(signed_body=body + b" ")),
        ("non-numeric timestamp", Signing(timestamp_text="now")),
    ]


@rules("WH-052")
def test_missing_or_wrong_signatures_are_401(wh: Harness, observe: Observer) -> None:
    """Missing headers, an empty or wrong signature, a tampered body → 401."""
    secret = _route(wh)
    for label, signing in _bad_signings(b""):
        observe.case()
        body = _event(wh) if wh.peer else cases.pimlico_raw({})
        if label == "tampered body":
            signing = Signing(signed_body=body + b" ")
        record, answer, now = _send(wh, body, signing, aligned=False)
        wh.judge("WH-052", record, answer, _expect(wh, body, signing, now, secret=secret),
                 f"{label}: not refused")


@rules("WH-053")
def test_no_secret_disables_the_route(wh: Harness, observe: Observer) -> None:
    """Without PIMLICO_WEBHOOK_SECRET, POST /pimlico answers 503 (signed or not)."""
    _route(wh)
    with wh.variant({wh.settings.hmac_secret_env: None}) as webhook:
        for signing in (Signing(), Signing(sign=False)):
            observe.case()
            body = cases.pimlico_raw({})
            record = RecordedRequest("POST", "/pimlico", "", body, signing=signing,
                                     extra={"variant": {"secret": "unset"}})
            now = int(time.time())
            answer = wh.send(record, target=webhook, now=now)
            wh.judge("WH-053", record, answer, _expect(wh, body, signing, now, secret=None),
                     "the route without a secret was not 503")


UNPARSABLE = [b"", b"not json", b"[]", b"null", b'{"type":"user_operation.sponsorship.other"}',
              b'{"type":"invoice.paid","data":{}}',
              b'{"type":"user_operation.sponsorship.requested"}',
              b'{"type":"user_operation.sponsorship.requested","data":"x"}',
              b'{"type":"user_operation.sponsorship.requested","data":{"object":[]}}',
              b'{"type":"user_operation.sponsorship.requested","data":{"object":{}}}',
              b'{"type":"user_operation.sponsorship.requested","data":{"object":'
              b'{"userOperation":{"sender":"0x12","callData":"0x"}}}}', b"\xff\xfe"]


@rules("WH-054")
def test_unparsable_or_foreign_events_are_sponsor_false(wh: Harness, observe: Observer) -> None:
    """A correctly signed body that does not parse, or a foreign event → 200 sponsor:false."""
    secret = _route(wh)
    for body in UNPARSABLE:
        observe.case()
        record, answer, now = _send(wh, body, aligned=False)
        wh.judge("WH-054", record, answer, _expect(wh, body, None, now, secret=secret),
                 "an unparsable or foreign event was not 200 sponsor:false")


@rules("WH-055")
def test_chain_id_forms(wh: Harness, observe: Observer) -> None:
    """chainId as a JSON number, a 0x string or a decimal string is the same chain."""
    wh.need_chain()
    _route(wh)
    wh.confirm_baseline("WH-055")
    for form in ("number", "hex", "decimal"):
        _judge(wh, "WH-055", _event(wh, form=form), None, observe, f"chainId as {form}")


@rules("WH-056")
def test_data_without_object_wrapper(wh: Harness, observe: Observer) -> None:
    """``data`` holding the payload directly (no ``object``) is read the same."""
    wh.need_chain()
    _route(wh)
    wh.confirm_baseline("WH-056")
    for form in ("number", "hex"):
        _judge(wh, "WH-056", _event(wh, form=form, nest=False), None, observe,
               "data without object")


@rules("WH-057")
def test_profile_key_derivation(wh: Harness, observe: Observer) -> None:
    """Signed with the profile's derivation → accepted; with the same secret under another
    derivation → 401 (the live outage: a plain-base64 key made every request 401)."""
    secret = _route(wh)
    wh.need_chain()
    _judge(wh, "WH-057", _event(wh), None, observe, f"{wh.settings.key_derivation} key")
    for other in KeyDerivation:
        if other is wh.settings.key_derivation:
            continue
        try:
            key = derive_hmac_key(secret, other)
        except SecretFormatError:
            continue
        if key == derive_hmac_key(secret, wh.settings.key_derivation):
            continue
        _judge(wh, "WH-057", _event(wh), Signing(derivation=other.value), observe,
               f"a MAC keyed by the {other} derivation was accepted")


def _prefixes(derivation: KeyDerivation) -> tuple[str, ...]:
    """§5: the live derivation strips ``pim_whsec_`` or ``whsec_``; a Standard Webhooks
    secret is ``whsec_`` + base64."""
    return ("whsec_",) if derivation is KeyDerivation.STANDARD else SECRET_PREFIXES


@dataclass(frozen=True)
class _Signed:
    """One request to a variant, keyed by ``signer``, with the oracle's expectation."""

    signer: KeyDerivation
    record: RecordedRequest
    answer: Answer
    expectation: Expectation


def _sign_every_way(wh: Harness, observe: Observer, webhook: Any, secret: str,
                    derivation: KeyDerivation, variant: Mapping[str, str]) -> list[_Signed]:
    """An approvable event per derivation, keyed by it (``secret`` reads under all), sent to
    ``webhook``, which verifies with ``derivation``: its own MAC first."""
    sent = []
    for signer in sorted(KeyDerivation, key=lambda d: d is not derivation):
        observe.case()
        body = _event(wh)
        signing = Signing(msg_id=f"msg_amc_{signer.value}",
                          derivation=None if signer is derivation else signer.value)
        record = RecordedRequest("POST", "/pimlico", "", body, signing=signing,
                                 extra={"variant": dict(variant), **_chain_facts(wh, body)})
        now = int(time.time())
        request = record.build(token=None, secret=secret, derivation=derivation.value, now=now)
        answer = wh.deliver(webhook, request)
        expectation = _expect(wh, body, signing, now, secret=secret, derivation=derivation)
        sent.append(_Signed(signer, record, answer, expectation))
    return sent


def _judge_signed(wh: Harness, sent: list[_Signed], derivation: KeyDerivation,
                  launched: str) -> None:
    """FAIL WH-057 at the first answer the oracle does not allow."""
    for one in sent:
        if not one.expectation.accepts(one.answer.status, one.answer.json):
            keyed = ("its own key" if one.signer is derivation
                     else f"a {one.signer} key (not its {derivation} one)")
            raise wh.failure("WH-057", f"launched with {launched}, a MAC by {keyed}",
                             one.record, one.answer, one.expectation)


@rules("WH-057")
def test_secret_prefixes(wh: Harness, observe: Observer) -> None:
    """A secret with either prefix §5 allows for the profile's derivation (live: ``pim_whsec_``
    or ``whsec_``) keys the MAC by the rest: that MAC is accepted, and the same secret read by
    any other derivation is refused (401)."""
    _route(wh)
    wh.need_chain()
    derivation = wh.settings.key_derivation
    for prefix in _prefixes(derivation):
        secret = dual_secret(prefix)
        with wh.variant({wh.settings.hmac_secret_env: secret}) as webhook:
            sent = _sign_every_way(wh, observe, webhook, secret, derivation,
                                   {"key_derivation": derivation.value, "secret_prefix": prefix})
        _judge_signed(wh, sent, derivation, f"a {prefix}… secret")


@rules("WH-057")
def test_other_key_derivations(wh: Harness, observe: Observer) -> None:
    """Launched with ``PIMLICO_KEY_DERIVATION`` naming another derivation (a suite extension,
    README "Webhook launch contract"), the webhook accepts that derivation's MAC and refuses
    the others' — the profile's included. SKIP when the target ignores the variable (it still
    accepts only the profile's MAC)."""
    _route(wh)
    wh.need_chain()
    own = wh.settings.key_derivation
    for derivation in (d for d in KeyDerivation if d is not own):
        prefix = "whsec_" if derivation is KeyDerivation.STANDARD else "pim_whsec_"
        secret = dual_secret(prefix)
        overrides = {"PIMLICO_KEY_DERIVATION": derivation.value,
                     wh.settings.hmac_secret_env: secret}
        with wh.variant(overrides) as webhook:
            sent = _sign_every_way(wh, observe, webhook, secret, derivation,
                                   {"key_derivation": derivation.value, "secret_prefix": prefix})
        by_signer = {one.signer: one for one in sent}
        mine, profiles = by_signer[derivation].answer, by_signer[own].answer
        if mine.status == 401 and (profiles.status, profiles.json) == (200, SPONSOR):
            pytest.skip(f"the target ignores PIMLICO_KEY_DERIVATION={derivation} (an optional "
                        f"suite extension): launched with it, it still verifies {own} MACs")
        _judge_signed(wh, sent, derivation, f"PIMLICO_KEY_DERIVATION={derivation}")


@rules("WH-058")
def test_no_pimlico_route_off_profile(wh: Harness, observe: Observer) -> None:
    """Under multi-attestor and base, POST /pimlico is 404, signed or not."""
    for signing in (Signing(), Signing(sign=False)):
        observe.case()
        body = cases.pimlico_raw({})
        record, answer, now = _send(wh, body, signing, aligned=False)
        expectation = _expect(wh, body, signing, now, secret=None, route=False)
        wh.judge("WH-058", record, answer, expectation, "POST /pimlico exists under this profile")
