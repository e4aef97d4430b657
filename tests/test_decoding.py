"""Beam search (lexicon-free and with a word n-gram LM) on the tiny trained model."""

import json

import pytest

import asr
from asr.decoding import BeamSearchDecoder, LMConfig, greedy_decode, load_lm_config, read_hotwords, respell
from asr.errors import ASRError, ModelError
from asr.tokenizer import CharTokenizer
from asr.lm import build_lm
from conftest import TINY

TEXTS = [json.loads(line)["text"] for line in (TINY / "train.jsonl").read_text().splitlines()]
FILES = sorted(TINY.glob("*.flac"))


def make_lm(directory, sentences, **weights):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "text.txt").write_text("\n".join(sentences) + "\n")
    summary = build_lm([directory / "text.txt"], 2, directory)
    cfg = LMConfig(directory, file=summary["arpa"], **weights)
    cfg.save()
    return cfg


def test_beam_search_without_lm_agrees_with_greedy(model_dir):
    model = asr.load_model(model_dir, device="cpu")
    log_probs, lengths = model.encode([asr.audio.load_audio(f) for f in FILES])
    beam = BeamSearchDecoder(model.tokenizer, beam_size=8)(log_probs, lengths)
    greedy = greedy_decode(log_probs, lengths)
    assert [model.tokenizer.decode(h.tokens) for h in beam] == TEXTS
    assert [h.tokens for h in beam] == [h.tokens for h in greedy]
    assert all(len(h.frames) == len(h.tokens) for h in beam)


def test_lm_decoding_through_the_model_directory(model_dir):
    make_lm(model_dir / "lm", TEXTS * 3, lm_weight=0.5, word_score=0.5, beam_size=20)
    model = asr.load_model(model_dir, device="cpu")
    assert model.has_lm
    got = [t.text for t in model.transcribe_batch(FILES, lm=True)]
    assert got == TEXTS


def test_lexicon_restricts_output_to_the_lm_vocabulary(model_dir, tmp_path):
    """Without WORLD in the LM's text, LM decoding cannot produce it, however clear the audio."""
    cfg = make_lm(tmp_path / "lm", [t for t in TEXTS if "WORLD" not in t] * 3, lm_weight=1.0)
    vocab = {w for t in TEXTS if "WORLD" not in t for w in t.split()}
    model = asr.load_model(model_dir, device="cpu")
    assert model.transcribe(FILES[0]).text == "HELLO WORLD"  # greedy hears it
    text = model.transcribe(FILES[0], lm=cfg.path).text
    assert "WORLD" not in text and set(text.split()) <= vocab
    decoder = model.decoder(lm=cfg.path)
    assert decoder.lexicon_size == len(vocab) + 1  # + <unk>
    assert model.decoder(lm=cfg.path) is decoder  # built once per option set
    # the same text with WORLD in a word list (asr lm build --vocab): now a word the search can reach
    (tmp_path / "words.txt").write_text("world\n")
    summary = build_lm([tmp_path / "lm" / "text.txt"], 2, tmp_path / "lm-vocab", vocab_files=[tmp_path / "words.txt"])
    assert summary["vocab_added"] == 1
    widened = LMConfig(tmp_path / "lm-vocab", file=summary["arpa"], lm_weight=1.0)
    widened.save()
    assert model.transcribe(FILES[0], lm=widened.path).text.split()[-1] == "WORLD"
    assert model.decoder(lm=widened.path).lexicon_size == len(vocab) + 2


def test_hotwords_reach_a_word_the_lm_lacks_and_favour_it(model_dir, tmp_path):
    """The LM's text says WORD where the audio says WORLD: the LM wins; WORLD as a hotword (not in the LM:
    added to the lexicon) with the default bonus wins it back, and the other files read as without hotwords
    (OPEN THE DOOR are common words of this LM: no bonus). A negative bonus keeps WORLD out again: the bonus
    is applied."""
    cfg = make_lm(tmp_path / "lm", [t for t in TEXTS if "WORLD" not in t] * 3 + ["HELLO WORD"] * 5, lm_weight=1.0)
    model = asr.load_model(model_dir, device="cpu")
    assert model.transcribe(FILES[0], lm=cfg.path).text == "HELLO WORD"
    assert model.transcribe(FILES[0], lm=cfg.path, hotwords=["World"], hotword_score=-20.0).text == "HELLO WORD"
    plain = [t.text for t in model.transcribe_batch(FILES, lm=cfg.path)]
    boosted = [t.text for t in model.transcribe_batch(FILES, lm=cfg.path, hotwords=["world", "Open the door"])]
    assert boosted == ["HELLO WORLD"] + plain[1:] and plain[0] == "HELLO WORD"
    decoder = model.decoder(lm=cfg.path, hotwords=["world", "Open the door"])
    assert decoder.hotwords == ["WORLD", "OPEN", "THE", "DOOR"]
    assert decoder.boosted == ["WORLD"]  # the others are common words of this small LM's text: no bonus
    assert decoder.lexicon_size == model.decoder(lm=cfg.path).lexicon_size + 1  # WORLD; the others are LM words
    with pytest.raises(ASRError, match="hotwords need beam search with an LM"):
        model.transcribe(FILES[0], hotwords=["world"])
    with pytest.raises(ASRError, match="hotword 'Zoë'"):
        model.transcribe(FILES[0], lm=cfg.path, hotwords=["Zoë"])
    with pytest.raises(ASRError, match="one string"):
        model.transcribe(FILES[0], lm=cfg.path, hotwords="world")
    with pytest.raises(ASRError, match="positive LM weight"):
        model.transcribe(FILES[0], lm=cfg.path, hotwords=["world"], lm_weight=0.0)


def test_read_hotwords(tmp_path):
    (tmp_path / "h.txt").write_text("# names\nZoe Smith\n\n  Kubernetes  \n")
    assert read_hotwords(tmp_path / "h.txt") == ["Zoe Smith", "Kubernetes"]
    with pytest.raises(ASRError, match="nowhere.txt: cannot read hotwords"):
        read_hotwords(tmp_path / "nowhere.txt")


def test_lm_configuration_errors(model_dir, tmp_path):
    model = asr.load_model(model_dir, device="cpu")
    with pytest.raises(ModelError, match="has no lm/ directory"):
        model.transcribe(FILES[0], lm=True)
    with pytest.raises(ModelError, match="no such LM directory"):
        load_lm_config(tmp_path / "nowhere")
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "lm.json").write_text('{"file": "lm.arpa", "lm_wieght": 1}')
    with pytest.raises(ModelError, match="unknown field.*lm_wieght"):
        load_lm_config(tmp_path / "lm")
    (tmp_path / "lm" / "lm.json").write_text('{"file": "lm.arpa", "adapted": {"lm_weigth": 2}}')
    with pytest.raises(ModelError, match="adapted must hold lm_weight and/or word_score"):
        load_lm_config(tmp_path / "lm")
    (tmp_path / "lm" / "lm.json").write_text('{"file": "lm.arpa"}')
    with pytest.raises(ModelError, match="lm.arpa: LM file is missing"):
        load_lm_config(tmp_path / "lm")


def test_respell_restores_a_piece_that_torchaudio_merged():
    """A lexicon word spelling the same piece twice in a row came out of torchaudio with one (FRERE as FRE,
    seen with the bundled model): the decoded words are spelled again, frames kept where they exist."""
    tok = CharTokenizer()
    sep = tok.token_names().index("|")
    merged = tok.encode("BOK A")  # B O K | A: BOOK lost an O
    tokens, frames = respell(["BOOK", "A"], merged, [0, 2, 5, 6, 8], tok, sep)
    assert tok.decode(tokens) == "BOOK A" and frames == [0, 2, 2, 5, 6, 8]
    assert respell(["BOK", "A"], merged, [0, 2, 5, 6, 8], tok, sep) == (merged, [0, 2, 5, 6, 8])  # nothing lost
    assert respell(["<unk>"], merged, [0, 2, 5, 6, 8], tok, sep) == (merged, [0, 2, 5, 6, 8])  # unspellable
