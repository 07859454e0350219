"""Event contracts: names, documentation, and the subscriptions that use them."""

import re

import pytest
from pydantic import ValidationError

from services.reporting.consumers import ROUTES as REPORTING_ROUTES
from shared.contracts import CONTRACTS, UnknownEventType, validate_data
from shared.envelope import EVENT_TYPE_PATTERN


def test_every_contract_is_named_and_documented() -> None:
    assert CONTRACTS
    for name, model in CONTRACTS.items():
        assert re.match(EVENT_TYPE_PATTERN, name), name
        producer = name.split(".")[0]
        assert model.__module__ == f"shared.contracts.{producer}", name  # each producer's contracts in its module
        assert (model.__doc__ or "").strip(), f"{name} needs a one-line docstring"


def test_subscriptions_name_registered_contracts() -> None:
    assert set(REPORTING_ROUTES) <= set(CONTRACTS)


def test_every_event_reaches_someone() -> None:
    """An event is published to be read: every contract has a subscriber (reporting reads them all)."""
    assert sorted(set(CONTRACTS) - set(REPORTING_ROUTES)) == []


def test_unknown_type_and_bad_payload_are_refused() -> None:
    with pytest.raises(UnknownEventType):
        validate_data("volunteers.visit.teleported.v1", {})
    with pytest.raises(ValidationError):
        validate_data("registration.venue.registered.v1", {"venue_id": "v", "city_code": "nanning"})


def test_contracts_ignore_fields_added_later_within_a_version() -> None:
    data = {"venue_id": "v1", "city_code": "450100", "name": "n", "org_type": "university", "added_in_v1_3": True}
    assert validate_data("registration.venue.registered.v1", data).model_dump()["venue_id"] == "v1"


def test_programme_activities_match_the_contract() -> None:
    from typing import get_args

    from shared.contracts.registration import ActivityType
    from shared.programme import load_programme
    from shared.settings import REPO_ROOT

    programme = load_programme(REPO_ROOT / "config" / "programme.toml")
    assert [a.code for a in programme.activities] == list(get_args(ActivityType))
