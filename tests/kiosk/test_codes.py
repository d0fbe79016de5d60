from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.codes import (
    CROCKFORD_ALPHABET,
    MAX_INPUT_LENGTH,
    InvalidCode,
    display_code,
    is_canonical_code,
    normalise_code,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7KQ2-M9XD", "7KQ2M9XD"),
        ("7kq2m9xd", "7KQ2M9XD"),
        ("  7KQ2 M9XD \n", "7KQ2M9XD"),
        ("7-K-Q-2-M-9-X-D", "7KQ2M9XD"),
        ("OOOO-IIII", "00001111"),
        ("oooo llll", "00001111"),
        ("ABCD-EFGH", "ABCDEFGH"),
    ],
)
def test_codes_are_read_as_the_contract_says(raw: str, expected: str) -> None:
    assert normalise_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "has 0"),
        ("7KQ2-M9X", "has 7"),
        ("7KQ2-M9XDA", "has 9"),
        ("7KQ2-M9XU", "'U'"),
        ("7KQ2_M9XD", "'_'"),
        ("7KQ2-M9XĄ", "'Ą'"),
        ("x" * (MAX_INPUT_LENGTH + 1), "longer than 64"),
    ],
)
def test_anything_that_cannot_be_a_code_says_why(raw: str, why: str) -> None:
    with pytest.raises(InvalidCode) as caught:
        normalise_code(raw)
    assert why in str(caught.value)


def test_display_groups_four_and_four() -> None:
    assert display_code("7KQ2M9XD") == "7KQ2-M9XD"


canonical = st.text(alphabet=CROCKFORD_ALPHABET, min_size=8, max_size=8)


@given(code=canonical, data=st.data())
def test_any_spelling_of_a_code_normalises_to_it(code: str, data: st.DataObject) -> None:
    spelled = []
    for ch in code:
        variants = [ch, ch.lower()]
        if ch == "0":
            variants += ["O", "o"]
        if ch == "1":
            variants += ["I", "i", "L", "l"]
        spelled.append(data.draw(st.sampled_from(variants)))
        spelled.append(data.draw(st.sampled_from(["", "", " ", "-"])))
    assert normalise_code("".join(spelled)) == code


@given(raw=st.text(max_size=100))
def test_normalising_never_fails_other_than_invalid_code(raw: str) -> None:
    try:
        code = normalise_code(raw)
    except InvalidCode:
        return
    assert is_canonical_code(code)
    assert normalise_code(code) == code
