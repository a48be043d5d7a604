import subprocess
import sys
from pathlib import Path

from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]


def test_chinese_catalogue_has_no_untranslated_or_fuzzy_entries():
    result = subprocess.run([sys.executable, str(ROOT / "locale" / "check_complete.py")], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compiled_catalogue_is_loaded():
    with translation.override("zh-hans"):
        assert translation.gettext("Organisations") == "组织机构"
        assert translation.gettext("Log in") == "登录"
    with translation.override("en"):
        assert translation.gettext("Organisations") == "Organisations"


def test_compiled_catalogue_matches_the_source():
    """A .po edit without `make messages` would ship stale translations."""
    import gettext
    import re

    po = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    with open(po.with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', po.read_text(encoding="utf-8"), flags=re.M)
    assert len(pairs) > 100
    stale = [msgid for msgid, msgstr in pairs if "\\" not in msgid and compiled.gettext(msgid) != msgstr]
    assert not stale, stale[:5]
