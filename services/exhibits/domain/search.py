"""Chinese full-text search without a text index: character bigrams (and single characters) in an array.

A CJK run of text contributes its characters and its bigrams; a Latin/digit run contributes the whole
lower-cased word. A query matches a document holding all of the query's terms: bigrams for CJK runs of
two or more characters (so "检测" matches "快速检测" but not "检查测量"), the character for a one-character
run, the word for Latin runs. Ranking counts the query terms found in the title above those in the summary.
"""

import re
import unicodedata

_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_QUERY_TERMS = 24


def _runs(text: str) -> list[str]:
    return _RUNS.findall(unicodedata.normalize("NFKC", text).lower())


def index_terms(text: str) -> list[str]:
    """Every term a document's text is found by (sorted, unique)."""
    terms: set[str] = set()
    for run in _runs(text):
        if _CJK.match(run):
            terms.update(run)
            terms.update(run[i : i + 2] for i in range(len(run) - 1))
        else:
            terms.add(run)
    return sorted(terms)


def query_terms(query: str) -> list[str]:
    """The terms a document must hold to match `query` (empty if the query has no searchable text)."""
    terms: list[str] = []
    for run in _runs(query):
        if _CJK.match(run) and len(run) > 1:
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            terms.append(run)
    return list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]


def search_fields(title: str, summary: str, highlights: list[str]) -> dict[str, list[str]]:
    """The fields an exhibit document carries while listed in the catalogue."""
    title_terms = index_terms(title)
    body_terms = index_terms(" ".join([summary, *highlights]))
    return {"title_terms": title_terms, "search_terms": sorted(set(title_terms) | set(body_terms))}
