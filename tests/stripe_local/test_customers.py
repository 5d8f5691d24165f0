"""Customers through the official SDK: create, retrieve, update, list, errors."""

from __future__ import annotations

import pytest
import stripe

from typing import Callable


def test_a_created_customer_is_retrieved_with_its_fields_and_metadata(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(
        {"email": "ops@acme.test", "name": "Acme", "metadata": {"account_id": "acc_1"}}
    )
    fetched = client.v1.customers.retrieve(created.id)

    assert created.id.startswith("cus_")
    assert created.object == "customer"
    assert (fetched.email, fetched.name) == ("ops@acme.test", "Acme")
    assert fetched.metadata.to_dict() == {"account_id": "acc_1"}
    assert fetched.livemode is False and fetched.created == created.created
    assert fetched.next_invoice_sequence == 1 and len(fetched.invoice_prefix) == 8


def test_updating_a_customer_merges_metadata_and_an_empty_value_unsets_a_key(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"metadata": {"account_id": "acc_1", "tier": "pro"}})

    updated = client.v1.customers.update(
        customer.id, {"email": "new@acme.test", "metadata": {"tier": "", "region": "eu"}}
    )

    assert updated.email == "new@acme.test"
    assert updated.metadata.to_dict() == {"account_id": "acc_1", "region": "eu"}
    assert client.v1.customers.retrieve(customer.id).metadata.to_dict() == {"account_id": "acc_1", "region": "eu"}


def test_customers_are_listed_newest_first_and_paged_with_starting_after(client: stripe.StripeClient) -> None:
    ids = [client.v1.customers.create({"name": f"c{i}"}).id for i in range(5)]

    first = client.v1.customers.list({"limit": 2})
    second = client.v1.customers.list({"limit": 2, "starting_after": first.data[-1].id})
    everyone = [c.id for c in client.v1.customers.list({"limit": 2}).auto_paging_iter()]

    assert [c.id for c in first.data] == ids[::-1][:2] and first.has_more is True
    assert [c.id for c in second.data] == ids[::-1][2:4]
    assert everyone == ids[::-1]


def test_customers_list_filters_by_exact_email(client: stripe.StripeClient) -> None:
    wanted = client.v1.customers.create({"email": "billing@globex.test"})
    client.v1.customers.create({"email": "other@globex.test"})

    found = client.v1.customers.list({"email": "billing@globex.test"})

    assert [c.id for c in found.data] == [wanted.id]


def test_an_unknown_customer_is_a_404_with_code_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.customers.retrieve("cus_doesnotexist")

    assert error.value.http_status == 404
    assert error.value.code == "resource_missing"
    assert error.value.param == "id"


def test_an_unknown_parameter_is_rejected_like_stripe_does(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.customers.create({"nickname": "x"})  # type: ignore[typeddict-unknown-key]

    assert error.value.http_status == 400
    assert error.value.code == "parameter_unknown" and error.value.param == "nickname"
    assert client.v1.customers.list().data == []


def test_a_key_that_is_not_a_secret_key_is_refused_with_401(make_client: Callable[..., stripe.StripeClient]) -> None:
    with pytest.raises(stripe.AuthenticationError) as error:
        make_client(api_key="pk_test_publishable").v1.customers.list()

    assert error.value.http_status == 401
    assert "Invalid API Key" in error.value.user_message


def test_an_unknown_url_is_a_stripe_shaped_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.raw_request("get", "/v1/subscription_schedules_nope")

    assert error.value.http_status == 404
    assert "Unrecognized request URL" in error.value.user_message
