"""Chinese and English: the catalogs hold every string the code, the templates and the scripts
show, translated; no text a person reads escapes them; a page speaks the language asked for.

The strings are extracted here as ``pybabel extract -F babel.cfg -k t ... oneapi`` does (Babel's
extractor run in-process). Text a person reads but nobody wrapped for translation is found
by rendering every page with a marker language (each translated string comes back between
``⟦ ⟧``) and reading the HTML: a text node or a user-facing attribute with letters outside
the markers, other than the site's own data (its name, model and channel type names), is
unwrapped; in the scripts, string literals that read as prose and are not ``t()``'s argument.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from litestar.testing import TestClient

from oneapi.channel_types import CHANNEL_TYPES
from oneapi.config import VALID_THEMES
from oneapi.i18n import LANGUAGES, Text, catalogs
from oneapi.i18n.catalogs import negotiate, read_catalog, translate
from oneapi.server import create_app
from oneapi.web import STATIC_DIR, TEMPLATES_DIR
from oneapi.web.language import SWITCH, format_number, jinja_environment
from oneapi.web.pages import PAGES, page_context
from tests.support.gateway import ROOT

PLACEHOLDER = re.compile(r"\{\w+(?:![rsa])?(?::[^}]*)?\}|%\(\w+\)s")


def _extracted() -> dict[str, set[str]]:
    """msgid -> the files it was found in, as pybabel extract finds them."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, set[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "oneapi"), method_map, options_map, keywords={**DEFAULT_KEYWORDS, "t": None}):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, set()).add(f"oneapi/{filename}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str, set[str]]:
    return _extracted()


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_extracted_string_is_in_the_catalog_and_nothing_else(extracted: dict[str, set[str]],
                                                                   language: str) -> None:
    catalog = read_catalog(language)
    held = {text for entry in catalog for text in (entry.msgid, entry.msgid_plural) if text}
    missing = sorted(set(extracted) - held)
    assert not missing, f"not in the {language} catalog (run pybabel extract and update): {missing}"
    stale = sorted(held - set(extracted))
    assert not stale, f"in the {language} catalog but no longer in the code: {stale}"
    assert not [entry.msgid for entry in catalog if entry.fuzzy], "fuzzy entries"


def test_every_chinese_entry_is_translated_with_the_same_placeholders() -> None:
    catalog = read_catalog("zh-CN")
    untranslated = [entry.msgid for entry in catalog if not entry.translated()]
    assert not untranslated, f"untranslated in zh_CN: {untranslated}"
    for entry in catalog:
        assert sorted(PLACEHOLDER.findall(entry.msgid)) == sorted(PLACEHOLDER.findall(entry.msgstr)), \
            entry.msgid
    assert len(catalog) > 400  # the extraction found the UI, not an empty tree


def test_every_marked_python_string_is_one_the_extractor_sees(extracted: dict[str, set[str]]) -> None:
    """Babel's extractor does not look inside f-strings: N_("...") there would never be translated."""
    marked = set()
    for path in (ROOT / "oneapi").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                marked.add(str(node.args[0].value))
    assert len(marked) > 100
    assert not sorted(marked - set(extracted)), "marked but not extracted (inside an f-string?)"


def test_the_extraction_reads_python_templates_and_scripts(extracted: dict[str, set[str]]) -> None:
    where = {Path(name).suffix for names in extracted.values() for name in names}
    assert {".py", ".html", ".js"} <= where
    assert "oneapi/web/static/js/core.js" in extracted["Copied!"]
    assert "oneapi/web/templates/pages/login.html" in extracted["Forgot your password?"]


class _Marker:
    """A translations object that returns each string between markers."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return f"⟦{singular if count == 1 else plural}⟧"


_USER_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "data-busy", "label")


class _Text(HTMLParser):
    """Every text node outside scripts and styles, and every user-facing attribute value."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skipping += 1
        for name, value in attrs:
            if value and (name in _USER_ATTRIBUTES or (name == "value" and ("type", "submit") in attrs)):
                self.chunks.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.chunks.append(data.strip())


def _unwrapped(html: str, data: set[str]) -> list[str]:
    parser = _Text()
    parser.feed(html)
    found = []
    for chunk in parser.chunks:
        if chunk in data:
            continue
        rest, previous = chunk, ""
        while rest != previous:  # innermost first: a translated string may hold another
            previous, rest = rest, re.sub(r"⟦[^⟦⟧]*⟧", " ", rest)
        for value in sorted(data, key=len, reverse=True):
            if len(value) > 1:
                rest = rest.replace(value, " ")
        if re.search(r"[A-Za-z]", rest):
            found.append(chunk)
    return found


@pytest.fixture
def app_client(clean_env: pytest.MonkeyPatch) -> Iterator[TestClient[Any]]:
    with TestClient(create_app()) as client:
        yield client


@pytest.mark.parametrize("theme", VALID_THEMES)
def test_no_text_on_any_page_escapes_translation(app_client: TestClient[Any], theme: str) -> None:
    environment = jinja_environment(TEMPLATES_DIR, "en", gettext=_Marker())
    problems = {}
    for page in PAGES:
        context = page_context(page, theme, "en")
        data = {str(value) for value in context["site"].values() if isinstance(value, str) and value}
        data |= {context["site"]["system_name"][:1], *VALID_THEMES, *(name for _tag, name in SWITCH)}
        data |= {kind.name for kind in CHANNEL_TYPES.values()}
        data |= {row[0] for row in context.get("price_table", ())}
        for flags in (True, False):  # both sides of each {% if %} on the site's switches
            site = {**context["site"], "register_enabled": flags, "email_verification": flags,
                    "notice": "", "footer": "", "turnstile_site_key": "key" if flags else "",
                    "oauth": {"github": flags, "oidc": flags, "lark": flags}}
            html = environment.get_template(page.template_name).render({**context, "site": site})
            if found := _unwrapped(html, data):
                problems[page.name] = found
    assert not problems, f"text outside _() / {{% trans %}}: {problems}"


def test_the_marker_check_finds_unwrapped_text() -> None:
    assert _unwrapped("<p>⟦Hello⟧</p><p title='⟦x⟧'>One API</p>", {"One API"}) == []
    assert _unwrapped("<p>Hello <b>⟦there⟧</b></p>", set()) == ["Hello"]
    assert _unwrapped('<input placeholder="Search">', set()) == ["Search"]


# literals the scripts use that are not prose: header and option names, DOM tokens
_NOT_PROSE = {"Content-Type", "Theme", "DisplayInCurrencyEnabled", "QuotaPerUnit", "SystemName", "Escape",
              "use strict", "xMidYMid meet", "thead th", "Bearer ${fullKey(token.key)}", "AbortError",
              "Enter", "openid profile email"}


def _literals(source: str) -> Iterator[tuple[int, str, int]]:
    """(line, text, offset) of each string literal of a script, comments and regexes skipped."""
    index, line, size = 0, 1, len(source)
    while index < size:
        char = source[index]
        if char == "\n":
            line += 1
        elif source.startswith("//", index):
            index = source.find("\n", index) - 1 if "\n" in source[index:] else size
        elif source.startswith("/*", index):
            end = source.index("*/", index + 2)
            line += source.count("\n", index, end)
            index = end + 1
        elif char in "\"'`":
            end, depth = index + 1, 0
            while end < size and (source[end] != char or depth):
                if source[end] == "\\":
                    end += 1
                elif char == "`" and source.startswith("${", end):
                    depth += 1
                elif char == "`" and depth and source[end] == "}":
                    depth -= 1
                end += 1
            yield line, source[index + 1:end], index
            line += source.count("\n", index, end)
            index = end
        elif char == "/" and re.search(r"[=(,:!&|?{};]\s*$", source[max(0, index - 20):index] or ";"):
            end = index + 1
            while end < size and source[end] != "/":
                end += 2 if source[end] == "\\" else 1
            index = end
        index += 1


def _without_values(text: str) -> str:
    """A template literal's text with each ``${...}`` (nested braces and all) as one NUL."""
    out, depth = [], 0
    index = 0
    while index < len(text):
        if text.startswith("${", index):
            if depth == 0:
                out.append("\x00")
            depth += 1
            index += 2
            continue
        if depth and text[index] == "{":
            depth += 1
        elif depth and text[index] == "}":
            depth -= 1
        elif not depth:
            out.append(text[index])
        index += 1
    return "".join(out)


def _reads_as_prose(text: str) -> bool:
    """Capitalised, or a sentence's end, or words apart (not a selector, path or class list); in a
    template literal also a word that stands apart from the values put in (``${n} requests``)."""
    bare = _without_values(text)
    words = bare.replace("\x00", "")
    return bool(re.match(r"[A-Z][a-z]", words)
                or (re.search(r"[…?!.]$", words) and re.search("[A-Za-z]", words)
                    and not words.startswith(("/", ".")))
                or (re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", words) and not re.search(r"[-\[\]=/#_]", words))
                or ("\x00" in bare and re.search(r"(?:^|\s)[A-Za-z]{3,}|[A-Za-z]{3,}(?:\s|$)", bare)
                    and not re.search(r"[-\[\]=/#_]", words)))


def _unwrapped_in_script(source: str) -> list[str]:
    return [f"{line}: {text}" for line, text, offset in _literals(source)
            if _reads_as_prose(text) and text not in _NOT_PROSE
            and not re.search(r"(?<![\w$.])t\($", source[max(0, offset - 3):offset])]


def test_every_script_string_a_person_reads_goes_through_t() -> None:
    problems = {str(path.relative_to(STATIC_DIR)): found for path in sorted(STATIC_DIR.rglob("*.js"))
                if (found := _unwrapped_in_script(path.read_text(encoding="utf-8")))}
    assert not problems, f"script strings outside t(): {problems}"


def test_the_script_check_finds_unwrapped_strings() -> None:
    assert _unwrapped_in_script('note(form, t("Saved.")); el("p", {}, `Deleted ${n} rows`);') == \
        ["1: Deleted ${n} rows"]
    assert _unwrapped_in_script('badge("Enabled", "green"); get("next"); // "Not this."') == ["1: Enabled"]
    assert _unwrapped_in_script('button.textContent = "Testing…"; x = y / 2; z = "a/b"') == ["1: Testing…"]
    script = 'a = `${n} cached`; b = `${base}search${q}`; c = `${ms} ms`; d = `cost ${x}`'
    assert _unwrapped_in_script(script) == ["1: ${n} cached", "1: cost ${x}"]


@pytest.mark.parametrize(("choice", "header", "default", "expected"), [
    (None, "", "zh-CN", "zh-CN"),
    (None, "", "en", "en"),
    (None, "en-US,en;q=0.9", "zh-CN", "en"),
    (None, "fr-FR, zh;q=0.8, en;q=0.5", "en", "zh-CN"),
    (None, "zh-Hans-CN", "en", "zh-CN"),
    (None, "zh-Hans", "en", "zh-CN"),
    (None, "ZH-cn", "en", "zh-CN"),
    (None, "zh-SG", "en", "zh-CN"),
    (None, "zh-TW, en;q=0.5", "zh-CN", "en"),  # Traditional: not Simplified, the next tag decides
    (None, "zh-HK", "en", "en"),
    (None, "en-GB", "zh-CN", "en"),
    (None, "*, en;q=0.1", "zh-CN", "en"),
    (None, "de, fr", "en", "en"),
    (None, "en;q=0, zh-CN", "en", "zh-CN"),
    ("en", "zh-CN", "zh-CN", "en"),
    ("zh-CN", "en", "en", "zh-CN"),
    ("klingon", "en", "zh-CN", "en"),
])
def test_language_choice_then_accept_language_then_default(choice: str | None, header: str, default: str,
                                                           expected: str) -> None:
    assert negotiate(choice, header, default) == expected


_CATALOG = r"""msgid ""
msgstr ""
"Language: zh_CN\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"
"Content-Type: text/plain; charset=utf-8\n"

#: oneapi/web/static/js/core.js:1
msgid "Saved."
msgstr "已保存。"

#: oneapi/web/static/js/core.js:2
#, fuzzy
msgid "Deleted."
msgstr "已删除（待审）"

#: oneapi/web/static/js/core.js:3
msgid "Untranslated."
msgstr ""

#: oneapi/web/templates/pages/a.html:1
msgid "%(n)s key"
msgid_plural "%(n)s keys"
msgstr[0] "单数 %(n)s"
msgstr[1] "复数 %(n)s"

#: oneapi/web/templates/pages/a.html:2
msgctxt "verb"
msgid "Open"
msgstr "打开"

#~ msgid "Gone."
#~ msgstr "已移除"
"""


def test_a_catalog_is_compiled_as_msgfmt_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fuzzy, untranslated and obsolete entries are left out (the English text shows), plurals
    follow the catalog's Plural-Forms, contexts are kept; the scripts get the translated ones."""
    directory = tmp_path / "zh_CN" / "LC_MESSAGES"
    directory.mkdir(parents=True)
    (directory / "messages.po").write_text(_CATALOG, encoding="utf-8")
    monkeypatch.setattr(catalogs, "LOCALE_DIR", tmp_path)
    catalog = catalogs.compile_catalog.__wrapped__("zh-CN")
    compiled = catalog.translations
    assert compiled.gettext("Saved.") == "已保存。"
    assert [compiled.gettext(text) for text in ("Deleted.", "Untranslated.", "Gone.")] == \
        ["Deleted.", "Untranslated.", "Gone."]
    # n > 1 (the catalog's rule, not English's n != 1): 0 is singular
    assert [compiled.ngettext("%(n)s key", "%(n)s keys", n) for n in (0, 1, 2)] == \
        ["单数 %(n)s", "单数 %(n)s", "复数 %(n)s"]
    assert compiled.pgettext("verb", "Open") == "打开" and compiled.gettext("Open") == "Open"
    assert catalog.js_messages == {"Saved.": "已保存。"}
    environment = jinja_environment(tmp_path, "zh-CN", gettext=compiled)
    template = environment.from_string(
        '{{ _("Saved.") }} {% trans n=2 %}{{ n }} key{% pluralize %}{{ n }} keys{% endtrans %}')
    assert template.render() == "已保存。 复数 2"


def test_numbers_group_thousands_with_commas_and_keep_six_decimals() -> None:
    assert format_number(1234567.25) == "1,234,567.25"
    assert format_number(2.0) == "2"
    assert format_number(0) == "0"
    assert format_number(0.0000001) == "0"
    assert format_number(0.1234567) == "0.123457"
    assert format_number(1000) == "1,000"


def test_marked_text_is_english_until_translated() -> None:
    text = Text("{field} must be a JSON object", field="model_mapping")
    assert text == "model_mapping must be a JSON object"
    assert translate(text, "zh-CN") == "model_mapping 必须是 JSON 对象"
    assert translate(text, "en") == "model_mapping must be a JSON object"
    assert type(translate(text, "en")) is str


def _script_messages(html: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="js-messages">(.*?)</script>', html, re.S)
    assert found
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_a_page_speaks_the_visitors_language(app_client: TestClient[Any]) -> None:
    chinese = app_client.get("/login")  # no choice, no Accept-Language: DEFAULT_LANGUAGE, zh-CN
    assert '<html lang="zh-CN">' in chinese.text and "忘记密码" in chinese.text
    assert "Vary" in chinese.headers and "Cookie" in chinese.headers["Vary"]
    english = app_client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.text and "Forgot your password?" in english.text
    app_client.cookies.set("lang", "zh-CN")
    chosen = app_client.get("/login", headers={"Accept-Language": "en"})
    assert "忘记密码" in chosen.text
    # the scripts' strings come with the page, in its language (English needs none)
    assert _script_messages(chosen.text)["Copied!"].startswith("已复制")
    app_client.cookies.set("lang", "en")
    assert _script_messages(app_client.get("/login").text) == {}


def test_default_language_comes_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DEFAULT_LANGUAGE", "en")
    with TestClient(create_app()) as client:
        assert "Forgot your password?" in client.get("/login").text
        assert "忘记密码" in client.get("/login", headers={"Accept-Language": "zh-CN"}).text


def test_an_unknown_default_language_stops_the_boot(clean_env: pytest.MonkeyPatch) -> None:
    from oneapi.config import ConfigError, load_settings

    clean_env.setenv("DEFAULT_LANGUAGE", "fr")
    with pytest.raises(ConfigError, match="DEFAULT_LANGUAGE"):
        load_settings()
    clean_env.setenv("DEFAULT_LANGUAGE", "zh_cn")
    assert load_settings().default_language == "zh-CN"


def test_prices_are_numbers_in_the_pages_language(app_client: TestClient[Any]) -> None:
    app_client.cookies.set("lang", "en")
    html = app_client.get("/setting").text
    assert re.search(r'data-label="Input \$/1M">\d[\d,]*(\.\d+)?<', html)
