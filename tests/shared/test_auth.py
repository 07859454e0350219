"""Token verification: algorithm allow-list, required claims, roles."""

import base64
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.auth import TokenVerifier, mint_token
from shared.problems import Problem
from shared.settings import Settings

SETTINGS = Settings(service="reporting")
SECRET = SETTINGS.jwt_secret.get_secret_value()


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "sub": "u1",
        "role": "city",
        "city": "450100",
        "iss": "sciweek",
        "aud": "sciweek",
        "exp": now + timedelta(minutes=5),
        **overrides,
    }


def rejected(token: str) -> str:
    with pytest.raises(Problem) as caught:
        TokenVerifier(SETTINGS).verify(token)
    assert caught.value.status == 401
    return caught.value.code


def test_minted_token_round_trips() -> None:
    principal = TokenVerifier(SETTINGS).verify(mint_token(SETTINGS, role="venue", sub="op1", venues=["v1", "v2"]))
    assert (principal.sub, principal.role, principal.venues) == ("op1", "venue", ["v1", "v2"])


def test_expired_wrong_audience_issuer_or_missing_claims_are_rejected() -> None:
    assert rejected(jwt.encode(claims(exp=datetime.now(UTC) - timedelta(seconds=1)), SECRET)) == "invalid_token"
    assert rejected(jwt.encode(claims(aud="someone-else"), SECRET)) == "invalid_token"
    assert rejected(jwt.encode(claims(iss="someone-else"), SECRET)) == "invalid_token"
    no_exp = claims()
    del no_exp["exp"]
    assert rejected(jwt.encode(no_exp, SECRET)) == "invalid_token"


def test_algorithm_allow_list_and_signature() -> None:
    assert rejected(jwt.encode(claims(), SECRET, algorithm="HS512")) == "invalid_token"
    assert rejected(jwt.encode(claims(), "another-secret-of-sufficient-length-0123456789")) == "invalid_token"
    unsigned = jwt.encode(claims(), None, algorithm="none")
    assert rejected(unsigned) == "invalid_token"


def test_unknown_role_and_city_role_without_city_are_rejected() -> None:
    assert rejected(jwt.encode(claims(role="superuser"), SECRET)) == "invalid_token"
    no_city = claims()
    del no_city["city"]
    assert rejected(jwt.encode(no_city, SECRET)) == "invalid_token"
    assert rejected(jwt.encode(claims(role="unit"), SECRET)) == "invalid_token"  # a unit's liaison needs `org`
    liaison = TokenVerifier(SETTINGS).verify(jwt.encode(claims(role="unit", org="gxu"), SECRET))
    assert liaison.may_act_for_unit("gxu") and not liaison.may_act_for_unit("gxmu")
    assert not liaison.may_act_for_city("450100")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_production_keys_verify_asymmetric_tokens_and_refuse_hmac_forgeries(algorithm: str) -> None:
    key = rsa.generate_private_key(65537, 2048) if algorithm == "RS256" else ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    settings = Settings(service="reporting", jwt_algorithms=[algorithm], jwt_public_key=public.decode())
    verifier = TokenVerifier(settings)
    assert verifier.verify(jwt.encode(claims(), key, algorithm=algorithm)).city == "450100"

    # algorithm confusion: an HS256 token whose HMAC secret is the (public) verification key
    def part(value: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    body = claims(exp=int((datetime.now(UTC) + timedelta(minutes=5)).timestamp()))
    signed = part({"alg": "HS256", "typ": "JWT"}) + b"." + part(body)
    forged = signed + b"." + base64.urlsafe_b64encode(hmac.digest(public, signed, "sha256")).rstrip(b"=")
    with pytest.raises(Problem) as caught:
        verifier.verify(forged.decode())
    assert caught.value.code == "invalid_token"
    with pytest.raises(ValueError, match="must not mix"):
        Settings(service="reporting", jwt_algorithms=["HS256", algorithm], jwt_public_key=public.decode())


def test_cli_mints_a_usable_token(capsys: pytest.CaptureFixture[str]) -> None:
    from sciweek.cli import main

    main(["token", "--role", "city", "--city", "450100"])
    principal = TokenVerifier(SETTINGS).verify(capsys.readouterr().out.strip())
    assert principal.role == "city" and principal.city == "450100"


def test_a_private_key_signs_device_credentials_the_public_key_verifies() -> None:
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    from shared.auth import can_mint

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    verify_only = Settings(service="volunteers", jwt_algorithms=["ES256"], jwt_public_key=public)
    assert not can_mint(verify_only)
    settings = Settings(service="volunteers", jwt_algorithms=["ES256"], jwt_public_key=public, jwt_private_key=private)
    assert can_mint(settings)
    token = mint_token(settings, role="volunteer", sub="c-1", jti="enrolment-1")
    principal = TokenVerifier(settings).verify(token)
    assert (principal.sub, principal.role, principal.jti) == ("c-1", "volunteer", "enrolment-1")
    with pytest.raises(ValueError, match="JWT_PRIVATE_KEY"):
        Settings(service="volunteers", jwt_private_key=private)
