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


# What axe cannot see: every visible control takes focus and shows a focus ring (outline or box shadow); one <title>
# and an <h1>. (The skip link is checked with real key presses in keyboard_problems.)
_FOCUS = """() => {
  const out = [];
  const sel = 'a[href],button,input:not([type=hidden]),select,textarea,summary,[tabindex]:not([tabindex="-1"])';
  for (const el of document.querySelectorAll(sel)) {
    if (!el.checkVisibility() || el.closest('.hp-field') || el.disabled) continue;
    el.focus();
    const cs = getComputedStyle(el);
    const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none';
    if (document.activeElement !== el) out.push('cannot take focus: ' + el.outerHTML.slice(0, 100));
    else if (!ring) out.push('no visible focus ring: ' + el.outerHTML.slice(0, 100));
  }
  document.activeElement && document.activeElement.blur();
  if (!document.title.trim()) out.push('no <title>');
  if (!document.querySelector('h1')) out.push('no <h1>');
  return out;
}"""


def keyboard_problems(page) -> list[str]:
    """The skip link is the first Tab stop, is visible then and moves focus to <main>; every visible control takes
    focus with a visible focus ring; the page has a title and an <h1>."""
    problems = []
    # Put the focus navigation starting point at the top of <body> (a temporary focused element, then removed).
    page.evaluate("""() => { const t = document.createElement('span'); t.tabIndex = -1;
        document.body.prepend(t); t.focus(); t.remove(); window.scrollTo(0, 0); }""")
    page.keyboard.press("Tab")
    first = page.evaluate("""() => { const a = document.activeElement, box = a.getBoundingClientRect();
        return {skip: a.classList.contains('skip-link'), visible: box.left >= 0 && box.top >= 0 && box.width > 1,
                html: a.outerHTML.slice(0, 100)}; }""")
    if not first["skip"]:
        problems.append(f"the first Tab stop is not the skip link but {first['html']}")
    else:
        if not first["visible"]:
            problems.append("the skip link is not visible when it has focus")
        page.keyboard.press("Enter")
        if page.evaluate("() => document.activeElement.tagName") != "MAIN":
            problems.append("the skip link does not move focus to <main>")
    return problems + page.evaluate(_FOCUS)


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
