"""A tiny DOM for the timeline tests: enough of the page (or of Chromium's --dump-dom) to
find elements by tag, class and attribute without a third-party parser."""

from __future__ import annotations

from html.parser import HTMLParser

_VOID = {"meta", "br", "img", "link", "input", "hr", "col", "area", "base", "source", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], parent: "Element | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element] = []
        self.parts: list[str | Element] = []

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def select(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list["Element"]:
        """Descendants (and self) matching tag, every class in `cls` (space-separated) and the
        attributes (underscores in names stand for dashes: data_lane -> data-lane)."""
        want = set(cls.split()) if cls else set()
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [el for el in self.iter()
                if (tag is None or el.tag == tag) and want <= el.classes
                and all(el.attrs.get(k) == v for k, v in wanted.items())]

    def ancestor(self, tag: str) -> "Element | None":
        el = self.parent
        while el is not None and el.tag != tag:
            el = el.parent
        return el


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Element("#document", {}, None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(el)
        self.cur.parts.append(el)
        if tag not in _VOID:
            self.cur = el

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(el)
        self.cur.parts.append(el)

    def handle_endtag(self, tag: str) -> None:
        el = self.cur
        while el is not None and el.tag != tag:
            el = el.parent
        if el is not None and el.parent is not None:
            self.cur = el.parent

    def handle_data(self, data: str) -> None:
        self.cur.parts.append(data)


def parse(markup: str) -> Element:
    b = _Builder()
    b.feed(markup)
    b.close()
    return b.root
