"""The web site's forms post leads here (aiohttp): POST /leads/<form>, JSON or form-encoded.

The token comes in the `X-Form-Token` header or a `token` field, the idempotency key in the `Idempotency-Key`
header or an `idempotency_key` field; every other field is the form's. Answers are JSON: 201 with the case for a
new lead, 200 for a submission seen before, 401 for a bad token, 400 naming each field at fault, 429 for a burst.
Their words are in the language the request asks for — a `lang` field (`ru`, `en`), else the `Accept-Language`
header — or else the company's. GET /leads/<form> is a tiny page with the form (for the demo: it carries the token,
as a site's page would), in the language its request asks for (`?lang=`, `Accept-Language`), which its form posts.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import jinja2
from aiohttp import web

from services.core import Core
from services.i18n import LANGUAGES
from services.leads import LeadRefused, Leads

MAX_BODY = 64 * 1024  # a lead is a few short fields

_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ title }}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}label{display:block;margin:.8rem 0}
input,textarea{width:100%;padding:.4rem;box-sizing:border-box}#answer{margin-top:1rem;white-space:pre-wrap}</style>
</head><body>
<h1>{{ title }}</h1>
<form id="lead" method="post" action="{{ action }}">
<input type="hidden" name="idempotency_key" value="{{ key }}">
<input type="hidden" name="lang" value="{{ lang }}">
{% if token %}<input type="hidden" name="token" value="{{ token }}">{% endif %}
{% for name, label, required in fields %}
<label>{{ label }}{% if required %} *{% endif %}
{% if name in ("message", "comment") %}<textarea name="{{ name }}" data-label="{{ label }}" rows="4"></textarea>
{% else %}<input name="{{ name }}"{% if required %} required{% endif %} data-label="{{ label }}">{% endif %}</label>
{% endfor %}
<button type="submit">{{ send }}</button>
</form>
<div id="answer"></div>
<script>
document.getElementById("lead").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch(event.target.action, {method: "POST", body: new FormData(event.target)});
  const answer = await response.json();
  // `fields` is keyed by the posted names; the visitor reads each as its input is labelled on this page.
  for (const input of event.target.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const lines = Object.entries(answer.fields || {}).map(([name, problem]) => {
    const input = event.target.elements.namedItem(name);
    if (!input || !input.dataset || !input.dataset.label) return problem;  // a hidden one (the key) has no label
    input.setAttribute("aria-invalid", "true");
    return input.dataset.label + ": " + problem;
  });
  document.getElementById("answer").textContent = [answer.message, ...lines].join("\\n");
});
</script>
</body></html>
"""
)


class LeadEndpoint:
    def __init__(self, core: Core, leads: Leads, *, show_token: bool = False) -> None:
        self.core = core
        self.leads = leads
        self.show_token = show_token  # the demo's page carries the token; a real site's page has its own
        self.lang = core.config.default_language

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.add_routes([web.post("/{form}", self.post), web.get("/{form}", self.page)])
        return app

    def t(self, message: str, lang: str, **params: Any) -> str:
        return self.core.translator.t(message, lang, **params)

    def language(self, request: web.Request, asked: str | None = None) -> str:
        """The language the request asks for: `asked` (a `lang` field or parameter) if the bot speaks it, else
        the first of `Accept-Language` it speaks (by preference), else the company's."""
        if asked and asked.strip().lower() in LANGUAGES:
            return asked.strip().lower()
        return _accepted(request.headers.get("Accept-Language", "")) or self.lang

    async def post(self, request: web.Request) -> web.Response:
        form = request.match_info["form"]
        try:
            params = await _params(request)
        except ValueError:
            lang = self.language(request, request.query.get("lang"))
            return self._json(400, self.t("The body is neither JSON nor a form.", lang))
        token = request.headers.get("X-Form-Token") or params.pop("token", None)
        key = request.headers.get("Idempotency-Key") or params.pop("idempotency_key", None)
        params.pop("token", None)
        params.pop("idempotency_key", None)
        known = self.leads.form(form)
        # How to answer, not what the lead says (the same contents in either language are one lead) — unless
        # the form itself has a field posted as `lang`.
        asked = params.get("lang") if known is not None and "lang" in known.lead.map.values() else params.pop(
            "lang", None)  # fmt: skip
        lang = self.language(request, asked or request.query.get("lang"))
        try:
            accepted = await self.leads.submit(form, token, key, params)
        except LeadRefused as refused:
            fields = {name: self.t(msg, lang, **p) for name, (msg, p) in refused.fields.items()}
            return self._json(refused.status, self.t(refused.message, lang, **refused.params), fields=fields or None)
        return self._json(
            201 if accepted.created else 200,
            self.t("Thank you! Your request is received; we will contact you soon.", lang),
            case=accepted.case_id,
            created=accepted.created,
        )

    async def page(self, request: web.Request) -> web.Response:
        form = self.leads.form(request.match_info["form"])
        if form is None:
            raise web.HTTPNotFound()
        lang = self.language(request, request.query.get("lang"))
        text = _PAGE.render(
            lang=lang,
            title=self.core.translator.t("Request for %(process)s", lang, process=form.spec.title),
            action=request.path,
            key=secrets.token_urlsafe(16),  # one per page shown: a double click sends the same key twice
            token=self.leads.tokens.get(form.lead.form) if self.show_token else None,
            fields=form.fields(lang),
            send=self.t("Send", lang),
        )
        return web.Response(text=text, content_type="text/html")

    @staticmethod
    def _json(status: int, message: str, **extra: Any) -> web.Response:
        body = {"message": message, **{k: v for k, v in extra.items() if v is not None}}
        return web.json_response(body, status=status, dumps=lambda data: json.dumps(data, ensure_ascii=False))


async def _params(request: web.Request) -> dict[str, str]:
    """The posted fields as texts, from JSON (an object) or a form, without NUL characters: text pasted from another
    program may bring one, nobody sees it, and PostgreSQL stores none (the lead failed with a 500)."""
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise ValueError("not JSON") from None
        if not isinstance(body, dict):
            raise ValueError("not an object")
        texts = {
            str(k): v if isinstance(v, str) else "" if v is None else json.dumps(v, ensure_ascii=False)
            for k, v in body.items()
        }
    else:
        posted = await request.post()
        texts = {k: v for k, v in posted.items() if isinstance(v, str)}
    return {k.replace("\x00", ""): v.replace("\x00", "") for k, v in texts.items()}


def _accepted(header: str) -> str | None:
    """The language of `Accept-Language` («en-GB,en;q=0.9,ru;q=0.5») the bot speaks that the visitor prefers
    most: each tag by its primary language, in the order of its `q` (0 for one refused), ties in the header's."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, *options = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for option in options:
            name, _eq, value = option.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = tag.split("-")[0].lower()
        if language in LANGUAGES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None
