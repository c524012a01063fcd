"""Browser-side checks shared by the browser tests: axe-core, horizontal overflow, logging in by the visible form."""

from __future__ import annotations

import re

#: WCAG 2.0 and 2.1, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_AXE_RUN = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
  .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                     targets: v.nodes.map(n => n.target.join(' '))})))"""

# Whether the page scrolls sideways; if so, the element that sticks out furthest (the innermost of those reaching the
# furthest right edge), ignoring content that scrolls or is clipped inside a box of its own.
_OVERFLOW = """() => {
  const doc = document.documentElement, width = window.innerWidth;
  if (doc.scrollWidth <= width) return null;
  const clipped = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const describe = el => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      let s = e.tagName.toLowerCase();
      if (e.id) s += '#' + e.id;
      else if (e.classList.length) s += '.' + [...e.classList].join('.');
      parts.unshift(s);
    }
    return parts.join(' > ');
  };
  let best = null, right = -1;
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || Math.round(box.right) < right || clipped(el)) continue;
    right = Math.round(box.right); best = el;
  }
  if (!best) return {scrollWidth: doc.scrollWidth, width: width, widest: 'no single element found'};
  const wide = Math.round(best.getBoundingClientRect().width);
  return {scrollWidth: doc.scrollWidth, width: width,
          widest: `${describe(best)} (right edge at ${right} px, ${wide} px wide)`};
}"""


def axe_violations(page, axe_source: str) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now (injected once per document)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    return page.evaluate(_AXE_RUN, AXE_TAGS)


def describe_violations(where: str, violations: list[dict]) -> str:
    lines = [f"{where}: {len(violations)} axe violation(s)"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines.extend(f"      {target}" for target in v["targets"][:8])
        if len(v["targets"]) > 8:
            lines.append(f"      ... and {len(v['targets']) - 8} more")
    return "\n".join(lines)


def horizontal_overflow(page) -> dict | None:
    """None when the page fits the viewport's width; otherwise its scroll width and the widest element."""
    return page.evaluate(_OVERFLOW)


def label(text: str) -> re.Pattern:
    """A visible label, also when the form marks it required ('Titel (verplicht)', 'Titel *')."""
    return re.compile(r"^\s*" + re.escape(text) + r"(\s*[(*].*)?\s*$", re.DOTALL)


def log_in(page, email: str, password: str) -> None:
    page.goto("/inloggen")
    main = page.locator("main")
    main.get_by_label(label("E-mailadres")).fill(email)
    main.get_by_label(label("Wachtwoord")).fill(password)
    with page.expect_navigation():
        main.get_by_role("button", name="Inloggen").click()
    assert "/inloggen" not in page.url, f"login as {email} failed: {page.locator('main').inner_text()[:300]}"


def log_out(page) -> None:
    page.context.clear_cookies()
