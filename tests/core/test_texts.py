"""One table of every text a person reads, in both languages."""

import re
from pathlib import Path

from tracker.core.texts import LANGS, TEXTS, term, text
from tracker.core.vocabulary import (
    DETECTION_SOURCES,
    GRADES,
    REGULATORY_LEVELS,
    ROLES,
    ROOT_CAUSES,
    STATUSES,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "tracker" / "ui" / "templates"


def test_every_text_has_both_languages():
    assert all(len(entry) == len(LANGS) and all(entry) for entry in TEXTS.values())


def test_every_word_of_the_vocabulary_has_a_chinese_name():
    kinds = {
        "status": STATUSES,
        "grade": (*GRADES, "AB", "ungraded"),
        "root_cause": ROOT_CAUSES,
        "detection_source": DETECTION_SOURCES,
        "regulatory_level": REGULATORY_LEVELS,
        "role": ROLES,
    }
    missing = [f"{k}.{v}" for k, values in kinds.items() for v in values if f"{k}.{v}" not in TEXTS]
    assert missing == []


def test_every_label_a_template_asks_for_exists():
    asked = {
        key
        for page in TEMPLATES.glob("*.html")
        for key in re.findall(r"""\bt\('([a-z_.0-9]+)'\)""", page.read_text())
    }
    assert asked and sorted(asked - set(TEXTS)) == []


def test_a_value_reads_as_a_person_says_it():
    assert (term("status", "open", "zh"), term("grade", None, "zh")) == ("处理中", "未定级")
    assert (term("grade", "none", "zh"), term("grade", "C", "en")) == ("不定级", "C")
    assert text("no_data", "en") == "no data"
