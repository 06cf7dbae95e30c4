"""The hand-rolled form/query splitter reads every string exactly as urllib's parse_qsl
(keep_blank_values=True) does, including escapes, blanks and the field cap."""
import random
from urllib.parse import parse_qsl

import pytest

from exsim.wire.params import MAX_FIELDS, _pairs


def _reference(text: str) -> list:
    return parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS)


CASES = ["", "a=1", "a=1&b=", "a", "&&a=1&&", "a=%41+b&c%3D=d=e", "x=%ZZ&y=%E2%82%AC", "a==b", "=v",
         "k=v&", "a=1;b=2", "%2B=%2b+", "q=%C3", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01"
         "&newClientOrderId=x-1&timestamp=1700000000000&signature=0a1b"]


@pytest.mark.parametrize("text", CASES)
def test_known_shapes(text):
    assert _pairs(text) == _reference(text)


def test_random_strings_from_an_alphabet_of_separators_and_escapes():
    rng = random.Random(11)
    alphabet = "ab=&%+2F41;x \u20ac"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert _pairs(text) == _reference(text), text


def test_too_many_fields_is_refused_like_parse_qsl():
    text = "&".join(f"k{i}=v" for i in range(MAX_FIELDS + 1))
    with pytest.raises(ValueError):
        _reference(text)
    with pytest.raises(ValueError):
        _pairs(text)
    ok = "&".join(f"k{i}=v" for i in range(MAX_FIELDS))
    assert _pairs(ok) == _reference(ok)
