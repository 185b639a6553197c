"""The names intakes take turns on, and the keys they are locked by (pure: no database)."""

import pytest

from callcenter.domain.clients import validate_client
from callcenter.services.orders import intake_lock_names
from callcenter.storage.locks import name_key


def test_names_are_the_order_and_the_normalised_contacts():
    customer = validate_client({"name": "Иван", "phones": ["8 916 123-45-67"],
                                "emails": [" Ivan@Example.RU "]}, region="RU", partial=False)
    assert intake_lock_names("order", 3, "A-1", customer) == [
        "order:3:A-1", "phone:+79161234567", "email:ivan@example.ru"]
    assert intake_lock_names("cart", 3, "A-1") == ["cart:3:A-1"]


@pytest.mark.parametrize("name, key", [
    ("order:3:A-1", -236159366),
    ("phone:+79161234567", -1402268938),
])
def test_a_name_has_one_int4_key_in_every_process(name, key):
    # not Python's hash(), which differs from one process to the next
    assert name_key(name) == key
    assert -2**31 <= key < 2**31
