"""``POST /pimlico`` (PROTOCOL.md §5 "Pimlico body", Standard Webhooks): WH-047…WH-058.

Requests are signed with the run's secret by the profile's key derivation. Timestamp
boundaries are exact (±300 accepted, ±301 refused): a launched webhook shares the suite's
clock, and each boundary request is sent early in a wall-clock second so both sides read the
same second; a ``--url`` target gets one second of margin each way.
"""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import expect_pimlico
from conformance.protocol.webhook_wire import KeyDerivation, derive_hmac_key
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest, Signing
from conformance.targets.webhook_http import Answer

SPONSOR = {"sponsor": True}
NO_SPONSOR = {"sponsor": False}


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


def _send(wh: Harness, body: bytes,
          signing: Signing | None = None) -> tuple[RecordedRequest, Answer, int]:
    now = _aligned_now()
    record, answer = wh.pimlico(body, signing, now=now)
    return record, answer, now


def _judge(wh: Harness, rule: str, body: bytes, signing: Signing | None, observe: Observer,
           message: str) -> None:
    secret = _route(wh)
    observe.case()
    record, answer, now = _send(wh, body, signing)
    headers = (signing or Signing()).headers(secret, wh.settings.key_derivation.value, body, now)
    expectation = expect_pimlico(
        body, headers, route=True, secret=secret, derivation=wh.settings.key_derivation, now=now,
        config=wh.policy, view=wh.view(), cap=wh.cap_state(b""))
    wh.judge(rule, record, answer, expectation, message)


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
    if answer.status != 200 or answer.json != {"sponsor": approved}:
        raise wh.failure("WH-047", f"POST / {'approved' if approved else 'denied'} this "
                         f"operation; POST /pimlico must answer 200 {{\"sponsor\":"
                         f"{str(approved).lower()}}}", record, answer)


@rules("WH-047")
@given(role=st.sampled_from(["member", "path-a", "stranger", "no-code"]),
       inner=st.sampled_from([cases.DEFAULT_INNER, bytes.fromhex("f2fde38b") + bytes(32)]))
def test_policy_answer_is_sponsor_true_or_false(wh: Harness, observe: Observer, role: str,
                                                inner: bytes) -> None:
    """An operation the policy approves → 200 {"sponsor":true}; one it denies → 200
    {"sponsor":false} (the policy's verdict read from POST / on the same operation)."""
    wh.need_chain()
    wh.need_token()
    sender = wh.add_sender(role)
    _same_as_alchemy(wh, observe, sender, cases.execute(wh.actors.cluster, inner),
                     wh.profile.chain_id)


@rules("WH-047")
def test_denials_are_sponsor_false(wh: Harness, observe: Observer) -> None:
    """Wrong chain, forbidden inner selector, non-zero value: the same verdict as POST /."""
    wh.need_chain()
    wh.need_token()
    forbidden = bytes.fromhex("f2fde38b") + bytes(32)
    for call, chain in ((cases.execute(wh.actors.cluster), 1),
                        (cases.execute(wh.actors.cluster, forbidden), wh.profile.chain_id),
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
    import hashlib
    import hmac

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
        entry = f"{version},{_mac(wh, secret, 'msg_amc', now, body)}"
        record, answer = wh.pimlico(body, Signing(extra_entries=(entry,), sign=False), now=now)
        if answer.status != 401:
            raise wh.failure("WH-050", f"a {version or 'version-less'} entry was accepted",
                             record, answer)


@rules("WH-051")
def test_timestamps_past_300_s_are_refused(wh: Harness, observe: Observer) -> None:
    """webhook-timestamp 301 s (or more) before or after now → 401."""
    _route(wh)
    edge = 301 + _margin(wh)
    for offset in (-edge, edge, -3600, 3600, -10**6):
        observe.case()
        record, answer, _now = _send(wh, _event(wh) if wh.peer else b"{}", Signing(offset=offset))
        if answer.status != 401:
            raise wh.failure("WH-051", f"a timestamp {offset:+d} s from now was accepted", record,
                             answer)


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
    _route(wh)
    for label, signing in _bad_signings(b""):
        observe.case()
        body = _event(wh) if wh.peer else cases.pimlico_raw({})
        if label == "tampered body":
            signing = Signing(signed_body=body + b" ")
        record, answer = wh.pimlico(body, signing)
        if answer.status != 401:
            raise wh.failure("WH-052", f"{label}: not refused", record, answer)


@rules("WH-053")
def test_no_secret_disables_the_route(wh: Harness, observe: Observer) -> None:
    """Without PIMLICO_WEBHOOK_SECRET, POST /pimlico answers 503 (signed or not)."""
    _route(wh)
    with wh.variant({wh.settings.hmac_secret_env: None}) as webhook:
        for signing in (Signing(), Signing(sign=False)):
            observe.case()
            record, answer = wh.pimlico(cases.pimlico_raw({}), signing, target=webhook)
            if answer.status != 503:
                raise wh.failure("WH-053", "the route without a secret was not 503", record,
                                 answer)


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
    _route(wh)
    for body in UNPARSABLE:
        observe.case()
        record, answer = wh.pimlico(body)
        if answer.status != 200 or answer.json != NO_SPONSOR:
            raise wh.failure("WH-054", "an unparsable or foreign event was not 200 sponsor:false",
                             record, answer)


@rules("WH-055")
def test_chain_id_forms(wh: Harness, observe: Observer) -> None:
    """chainId as a JSON number, a 0x string or a decimal string is the same chain."""
    wh.need_chain()
    for form in ("number", "hex", "decimal"):
        _judge(wh, "WH-055", _event(wh, form=form), None, observe, f"chainId as {form}")


@rules("WH-056")
def test_data_without_object_wrapper(wh: Harness, observe: Observer) -> None:
    """``data`` holding the payload directly (no ``object``) is read the same."""
    wh.need_chain()
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
        except ValueError:
            continue
        if key == derive_hmac_key(secret, wh.settings.key_derivation):
            continue
        observe.case()
        body = _event(wh)
        now = _aligned_now()
        import hashlib
        import hmac

        mac = base64.b64encode(hmac.new(key, f"msg_amc.{now}.".encode() + body,
                                        hashlib.sha256).digest()).decode()
        record, answer = wh.pimlico(body, Signing(extra_entries=("v1," + mac,), sign=False),
                                    now=now)
        if answer.status != 401:
            raise wh.failure("WH-057", f"a MAC keyed by the {other} derivation was accepted",
                             record, answer)


@rules("WH-058")
def test_no_pimlico_route_off_profile(wh: Harness, observe: Observer) -> None:
    """Under multi-attestor and base, POST /pimlico is 404, signed or not."""
    for signing in (Signing(), Signing(sign=False)):
        observe.case()
        record, answer = wh.pimlico(cases.pimlico_raw({}), signing)
        if answer.status != 404:
            raise wh.failure("WH-058", "POST /pimlico exists under this profile", record, answer)
