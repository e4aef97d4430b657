from asr.numbers import number_to_words, spell_numbers


def test_cardinals():
    assert number_to_words(0) == "ZERO"
    assert number_to_words(42) == "FORTY TWO"
    assert number_to_words(2301) == "TWO THOUSAND THREE HUNDRED ONE"
    assert number_to_words(1_000_010) == "ONE MILLION TEN"


def test_years_ordinals_and_separators():
    assert (
        spell_numbers("In 1845 and 1900 and 1805") == "In EIGHTEEN FORTY FIVE and NINETEEN HUNDRED and EIGHTEEN O FIVE"
    )
    assert spell_numbers("the 21st, 2nd, 3rd, 12th and 40th") == "the TWENTY FIRST, SECOND, THIRD, TWELFTH and FORTIETH"
    assert (
        spell_numbers("1,250 men and 2024 ships")
        == "ONE THOUSAND TWO HUNDRED FIFTY men and TWO THOUSAND TWENTY FOUR ships"
    )
