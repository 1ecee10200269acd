"""The front's few HTML pages (plain, accessible, no script but the trame client's)."""

from __future__ import annotations

from html import escape

FULL_MESSAGE = "All sessions are in use, try again in a few minutes."

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
input,button{{font-size:1rem;padding:.3rem .6rem}} code{{font-size:1.3rem;letter-spacing:.15em}}</style>
</head><body><main>
<h1>{title}</h1>
{body}
</main></body></html>
"""


def page(title: str, body_html: str) -> str:
    """A whole page; ``body_html`` must already be escaped."""
    return _PAGE.format(title=escape(title), body=body_html)


def full_page() -> str:
    """The page a browser gets (with HTTP 503) when every session slot is taken."""
    return page("twin3d is busy", f"<p role=\"alert\">{escape(FULL_MESSAGE)}</p>"
                                  "<p><a href=\"./\">Try again</a></p>")


def landing_page(user: str | None, can_present: bool) -> str:
    """Open a session of one's own, start a consultation, or join one by its code."""
    parts = []
    if user:
        parts.append(f"<p>Signed in as {escape(user)}.</p>")
        parts.append('<p><a href="app/">Open my session</a></p>')
    if can_present:
        parts.append('<form method="post" action="consultations"><button type="submit">'
                     'Start a consultation</button></form>')
    parts.append('<form method="get" action="join"><label for="code">Join a consultation: code</label> '
                 '<input id="code" name="code" autocomplete="off" required pattern="[A-Za-z0-9]{4,16}"> '
                 '<button type="submit">Join</button></form>')
    return page("twin3d", "\n".join(parts))


def consultation_page(code: str) -> str:
    """Shown to the presenter once a consultation exists: the code, the join link, the way in."""
    code = escape(code)
    return page("Consultation ready", f"<p>Join code: <code>{code}</code></p>"
                f"<p>Followers open <a href=\"join/{code}\">join/{code}</a> (read-only screens).</p>"
                f"<p><a href=\"app/?present={code}\">Present now</a></p>")


def not_found_page(what: str) -> str:
    return page("Not found", f"<p role=\"alert\">{escape(what)}</p><p><a href=\"./\">Back</a></p>")
