"""The page's HTML (login and the operations view) and its static script and style.

Everything the server writes into HTML goes through ``html.escape``; everything the script
shows goes in as ``textContent``, never as markup. The Content-Security-Policy allows
only this server's own script, style and images, so nothing is fetched from elsewhere.
"""

from __future__ import annotations

from html import escape
from importlib import resources

from central.ops.sessions import Session

HTML = "text/html; charset=utf-8"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
STATIC = {"/static/ops.js": "application/javascript; charset=utf-8",
          "/static/ops.css": "text/css; charset=utf-8"}
WRONG = "Zły login lub hasło. / Wrong login or password."
LOCKED = ("Zbyt wiele nieudanych prób; spróbuj za 5 minut. / "
          "Too many failed attempts; try again in 5 minutes.")


def static(path: str) -> tuple[bytes, str]:
    name = path.rsplit("/", 1)[1]
    return resources.files("central.ops").joinpath("static", name).read_bytes(), STATIC[path]


def _head(title: str) -> str:
    return (f'<!doctype html><html lang="pl"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="/static/ops.css">')


def login_page(message: str = "") -> str:
    note = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    return (_head("Centrum operacyjne — logowanie") + "</head><body class=\"login\">"
            '<form method="post" action="/login" class="login-form">'
            "<h1>Centrum operacyjne<br><small>Central operations</small></h1>" + note +
            '<label>Login <input name="login" autocomplete="username" required autofocus>'
            "</label><label>Hasło / Password <input name=\"password\" type=\"password\" "
            'autocomplete="current-password" required></label>'
            '<button type="submit">Zaloguj / Log in</button></form></body></html>')


def main_page(session: Session) -> str:
    return (
        _head("Centrum operacyjne / Central operations")
        + f'<meta name="csrf-token" content="{escape(session.csrf)}">'
        + '<script src="/static/ops.js" defer></script></head><body>'
        + '<header class="top"><h1>Centrum operacyjne <small>Central operations</small></h1>'
        + '<span id="link" class="link down">łączenie… / connecting…</span>'
        + '<span id="summary"></span>'
        + f'<span class="operator">{escape(session.operator_name)} '
        + f"({escape(session.operator)})</span>"
        + '<form method="post" action="/logout"><button>Wyloguj / Log out</button></form>'
        + "</header>"
        + '<nav class="filters" aria-label="Filtry / Filters">'
        + '<label>Szukaj / Search <input id="f-search" type="search"></label>'
        + '<label>Region <select id="f-region"><option value="*">wszystkie / all</option>'
        + "</select></label>"
        + '<label>Stan / State <select id="f-state"><option value="*">wszystkie / all</option>'
        + "</select></label>"
        + '<label><input id="f-problems" type="checkbox"> tylko problemy / problems only'
        + "</label>"
        + '<label>Sortuj / Sort <select id="f-sort">'
        + '<option value="problems">problemy najpierw / problems first</option>'
        + '<option value="name">nazwa / name</option>'
        + '<option value="fill">zapełnienie / fill</option>'
        + '<option value="region">region</option></select></label>'
        + '<span id="shown"></span></nav>'
        + '<main class="layout"><section id="tiles" aria-label="Oddziały / Branches"></section>'
        + '<aside class="side"><section id="details" hidden></section>'
        + '<section class="alarms"><h2>Alarmy / Alarms</h2><ol id="alarms"></ol></section>'
        + "</aside></main></body></html>"
    )
