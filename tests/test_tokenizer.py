import pytest

from asr.errors import TokenizerError
from asr.tokenizer import BLANK, BPETokenizer, CharTokenizer, load_tokenizer, normalize_text, train_bpe


def test_normalize_text():
    assert normalize_text("  Hello, world!  It's \u2019twas  ") == "HELLO WORLD IT'S TWAS"
    assert normalize_text("well-known_fact") == "WELL KNOWN FACT"
    assert normalize_text("'quoted'") == "QUOTED"
    assert normalize_text("In 1845, 3rd of 12,000 men-at-arms") == (
        "IN EIGHTEEN FORTY FIVE THIRD OF TWELVE THOUSAND MEN AT ARMS"
    )


def test_char_round_trip_and_blank():
    tok = CharTokenizer()
    ids = tok.encode("don't stop")
    assert BLANK not in ids and tok.vocab_size == 29
    assert tok.decode(ids) == "DON'T STOP"
    assert tok.decode([BLANK] + ids + [BLANK]) == "DON'T STOP"


def test_char_out_of_vocabulary_names_the_character():
    assert CharTokenizer().decode(CharTokenizer().encode("route 7")) == "ROUTE SEVEN"  # numbers are spelled
    with pytest.raises(TokenizerError, match="'É'"):
        CharTokenizer().encode("café")


def test_bpe_train_save_load(tmp_path):
    texts = ["the quick brown fox jumps over the lazy dog", "a stitch in time saves nine", "hello there"] * 20
    tok = train_bpe(texts, vocab_size=40)
    ids = tok.encode("the lazy fox")
    assert min(ids) >= 1 and tok.decode(ids) == "THE LAZY FOX"
    tok.save(tmp_path)
    again = load_tokenizer(tok.to_dict(), tmp_path)
    assert isinstance(again, BPETokenizer) and again.encode("the lazy fox") == ids
    assert again.vocab_size == tok.vocab_size
    with pytest.raises(TokenizerError, match="'É'"):
        tok.encode("café")  # É never occurs in the training text


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_encode_words_spells_each_word_as_encode_does(kind):
    texts = ["the quick brown fox jumps over the lazy dog", "don't o'neil stop", "hello there"] * 20
    tok = CharTokenizer() if kind == "char" else train_bpe(texts, vocab_size=40)
    # already normal, quoted, doubled apostrophes, digits, lower case, hyphens, and one that cannot be spelled
    words = ["THE", "DON'T", "'TIS", "O''NEIL", "7", "lazy", "WELL-KNOWN", "CAFÉ", ""]

    def spelled(word):
        try:
            return tok.encode(word) or None
        except TokenizerError:
            return None

    got = [ids or None for ids in tok.encode_words(words)]
    assert got == [spelled(w) for w in words]
    assert got[0] is not None and got[-2] is None and got[-1] is None
