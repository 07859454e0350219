"""Pure rules: search terms, review scores, transitions."""

from datetime import UTC, datetime

import pytest

from services.exhibits.domain import lifecycle
from services.exhibits.domain.review import aggregate, weighted_score
from services.exhibits.domain.search import index_terms, query_terms
from shared.rules import RuleViolation

WEIGHTS = {"advancement": 0.35, "show_value": 0.25, "physical": 0.2, "relevance": 0.2}
NOW = datetime(2020, 8, 1, tzinfo=UTC)


def test_index_terms_are_characters_bigrams_and_latin_words() -> None:
    assert index_terms("北斗终端 5G") == sorted({"北", "斗", "终", "端", "北斗", "斗终", "终端", "5g"})
    assert "端5" not in index_terms("北斗终端5G")  # a CJK run and a Latin run do not make a bigram


def test_query_terms_need_every_bigram_and_ignore_punctuation() -> None:
    assert query_terms("快速检测") == ["快速", "速检", "检测"]
    assert query_terms("蚕") == ["蚕"]
    assert query_terms("  ＡＩ，检测！") == ["ai", "检测"]  # full-width folded, punctuation dropped
    assert query_terms("？！") == []


def test_weighted_score_and_aggregates() -> None:
    scores = {"advancement": 5, "show_value": 3, "physical": 4, "relevance": 2}
    assert weighted_score(scores, WEIGHTS) == pytest.approx(5 * 0.35 + 3 * 0.25 + 4 * 0.2 + 2 * 0.2)
    with pytest.raises(RuleViolation) as missing:
        weighted_score({"advancement": 5}, WEIGHTS)
    assert missing.value.code == "criteria_mismatch"
    with pytest.raises(RuleViolation) as out_of_range:
        weighted_score({**scores, "relevance": 6}, WEIGHTS)
    assert out_of_range.value.code == "score_out_of_range"
    assert aggregate([1.0, 2.0, 5.0], "mean") == pytest.approx(8 / 3, abs=1e-4)
    assert aggregate([1.0, 2.0, 5.0], "median") == 2.0
    assert aggregate([], "mean") is None


def test_transitions_follow_the_lifecycle() -> None:
    doc = {"status": "draft", "version": 1}
    with pytest.raises(RuleViolation):
        lifecycle.transition(doc, "accepted", "admin", "office", NOW)
    change = lifecycle.transition(doc, "submitted", "exhibitor", "u", NOW)
    assert change["$set"]["status"] == "submitted" and change["$push"]["history"]["by"] == "u"
    for status in ("rejected", "withdrawn", "draft"):
        with pytest.raises(RuleViolation):
            lifecycle.transition({"status": status, "version": 3}, "withdrawn", "exhibitor", "u", NOW)
    lifecycle.transition({"status": "confirmed", "version": 3}, "withdrawn", "exhibitor", "u", NOW.replace(day=2))
    with pytest.raises(RuleViolation) as late:
        lifecycle.check_deadline(NOW, NOW.replace(day=2))
    assert late.value.code == "submission_closed"
