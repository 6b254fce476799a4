"""The password rules (README "Security"): where a password is set, the same ones."""

from __future__ import annotations

import pytest
from flask import Flask

from webapp.services.passwords import password_problem
from webapp.services.users import UserError, create_user, set_password


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "must not be blank"),
        (" " * 14, "must not be blank"),
        ("eleven-char", "at least 12 characters"),
        ("Els@Punthelder.nl", "must not be the email address"),
        (" els@punthelder.nl ", "must not be the email address"),
        ("zzzzzzzzzzzzzz", "one character repeated"),
        ("Password1234", "well-known password"),
        ("1q2w3e4r5t6y", "well-known password"),
        ("Wachtwoord123", "well-known password"),
    ],
)
def test_a_weak_password_is_refused_with_the_reason(password: str, reason: str) -> None:
    email = "els@punthelder.nl"
    problem = password_problem(password, email)
    assert problem is not None and reason in problem


def test_the_local_part_of_the_address_is_refused_too() -> None:
    problem = password_problem("Marketing.Team", "marketing.team@punthelder.nl")
    assert problem == "must not be the email address"


def test_a_long_uncommon_password_is_accepted() -> None:
    assert password_problem("harbour lights at dusk", "els@punthelder.nl") is None


def test_creating_and_changing_a_password_keep_the_rules(app: Flask) -> None:
    with pytest.raises(UserError) as refused:
        create_user("els@punthelder.nl", "password1234", "marketer")
    assert refused.value.fields == {"password": "is a well-known password; choose another"}

    user = create_user("els@punthelder.nl", "harbour lights at dusk", "marketer")
    with pytest.raises(UserError) as refused:
        set_password(user, "els@punthelder.nl")
    assert refused.value.field == "password"
