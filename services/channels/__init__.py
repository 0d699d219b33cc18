"""Notification channels: which kinds of notification go by Telegram, e-mail and SMS, what each says there,
and what happens when a person cannot be reached by a channel.

Per kind (`KINDS`) an admin switches each channel on or off and sets a fallback order (`channel_settings`;
without a row: Telegram only, no fallback). For each message and person `Plan` decides which channels go:
- each channel switched on goes if the person has it: Telegram unless they blocked the bot, e-mail to their
  address (else their organisation's contact e-mail), SMS to their phone;
- a channel switched on that the person lacks is never skipped in silence: a failed outbox row records it
  (the panel's delivery problems list it with the reason);
- when none of the switched-on channels reached the person, the fallback channels are tried in order and the
  first the person has goes;
- a message that then fails for good when sent (the bot blocked meanwhile, a number the SMS gateway refuses)
  moves on to the rest of the fallback (`after_failure`), if it was the only channel that went.

What each channel says comes from templates per kind and part (`PARTS`: an e-mail's subject, text and HTML; an
SMS's text; a Telegram message's text in Russian and in English): jinja2 over the variables of the kind
(`VARIABLES`), with shipped defaults an admin may replace in the panel; `check` refuses a template with a syntax
error or a variable the kind does not have. The bot's own wording of a message (a card, a reminder…, in the
reader's language) is the `text` variable. A Telegram template is Telegram's HTML (services/tg_html.py): the
variables are escaped, what the admin wrote around them must be HTML Telegram parses, and the message goes with
parse_mode HTML, cut into several when longer than Telegram takes; the shipped one is `{{ text }}`, and while an
admin has not replaced it the message goes exactly as the bot words it (plain text), its buttons unchanged either
way. A person reads the template of their language (`telegram_part`).
A person who muted a case (services/following.py) is not sent its stage lines by any channel.

`texts.py` the kinds, their variables and templates; `switches.py` the channels per kind and a person's
addresses; `sending.py` a message's plan, its writing and the fallback after a failure (`Channels`).
"""

from services.channels.sending import (
    Channels,
    Plan,
    after_failure,
    notices,
)
from services.channels.switches import (
    BadEmail,
    KindChannels,
    checked_email,
    save_settings,
    set_address,
    settings,
)
from services.channels.texts import (
    ALL_PARTS,
    CHANNELS,
    DEFAULTS,
    DEFAULTS_EN,
    EMAIL,
    KIND_TITLES,
    KINDS,
    PARTS,
    SMS,
    TELEGRAM,
    TELEGRAM_MAX_SOURCE,
    TELEGRAM_PARTS,
    VARIABLES,
    TemplateProblem,
    check,
    custom_templates,
    render,
    save_template,
    telegram_part,
    templates,
)

__all__ = [
    "ALL_PARTS",
    "CHANNELS",
    "DEFAULTS",
    "DEFAULTS_EN",
    "EMAIL",
    "KINDS",
    "KIND_TITLES",
    "PARTS",
    "SMS",
    "TELEGRAM",
    "TELEGRAM_MAX_SOURCE",
    "TELEGRAM_PARTS",
    "VARIABLES",
    "BadEmail",
    "Channels",
    "KindChannels",
    "Plan",
    "TemplateProblem",
    "after_failure",
    "check",
    "checked_email",
    "custom_templates",
    "notices",
    "render",
    "save_settings",
    "save_template",
    "set_address",
    "settings",
    "telegram_part",
    "templates",
]
