"""In-memory state of the sandbox Telegram server (users, chats, updates, files) with JSON persistence."""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import secrets
import struct
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STATE_FORMAT_VERSION = 1

JsonDict = dict[str, Any]


@dataclass
class SandboxUser:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "ru"
    label: str | None = None
    started: bool = True
    """Pressed Start (or wrote to the bot); until then the bot cannot write first."""
    blocked: bool = False
    """Blocked the bot: every message to them is refused with 403."""

    def as_telegram(self) -> JsonDict:
        """The `User` object Telegram sends to bots."""
        data: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def as_chat(self) -> JsonDict:
        """The private `Chat` object for this user."""
        data: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    def as_api(self) -> JsonDict:
        return asdict(self)


MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
PRESENT = ("creator", "administrator", "member", "restricted")
"""ChatMember statuses (Bot API, ChatMember) of someone who is in the group."""


@dataclass
class SandboxGroup:
    """A group or supergroup people made; the bot is in it only once someone adds it (Bot API, Chat)."""

    id: int
    """Negative, as Telegram's: -N for a basic group, -100N for a supergroup."""
    title: str
    type: str  # "group" | "supergroup"
    creator_id: int
    members: dict[int, str] = field(default_factory=dict)
    """Person id -> ChatMember status (creator, administrator, member, left, kicked)."""
    bot_status: str = "left"

    def as_chat(self) -> JsonDict:
        """The `Chat` object Telegram sends for this group."""
        return {"id": self.id, "title": self.title, "type": self.type}

    def present(self, user_id: int) -> bool:
        return self.members.get(user_id) in PRESENT

    def as_api(self) -> JsonDict:
        return {**asdict(self), "members": {str(k): v for k, v in self.members.items()}}


Peer = SandboxUser | SandboxGroup
"""Whom a chat is with: a person (private chat) or a group."""


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    from_bot: bool
    tg: JsonDict
    """The Telegram `Message` object as the bot sees it (current content)."""
    reply_keyboard: list[list[JsonDict]] | None = None
    edited: bool = False
    deleted: bool = False
    version: int = 0
    """Chat version at which this message last changed."""


@dataclass
class ChatState:
    chat_id: int
    next_message_id: int = 1
    version: int = 0
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    reply_keyboard: list[list[JsonDict]] | None = None
    """Reply keyboard currently shown to the user (None = hidden)."""
    one_time_keyboard: bool = False


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    kind: str  # "photo" | "document" | "voice" | "video" | "audio"
    file_size: int
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    sizes_of: str | None = None
    """For a smaller size of a photo: the file_id of the full-size one (Telegram returns every size)."""


@dataclass
class WebhookConfig:
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width/height from a PNG, GIF or JPEG header, None when unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        pos = 2
        while pos + 9 < len(data):
            if data[pos] != 0xFF:
                pos += 1
                continue
            marker = data[pos + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                pos += 1 if marker == 0xFF else 2
                continue
            (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return int(width), int(height)
            pos += 2 + length
    return None


class SandboxState:
    """Everything the fake Telegram knows. Plain synchronous object; the server owns locking/notification."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path: Path | None = Path(path) if path is not None else None
        self.users: dict[int, SandboxUser] = {}
        self.groups: dict[int, SandboxGroup] = {}
        self.chats: dict[int, ChatState] = {}
        self.updates: list[JsonDict] = []
        self.next_update_id: int = 1
        self.files: dict[str, StoredFile] = {}
        self.file_paths: dict[str, str] = {}  # file_path -> file_id
        self.commands: dict[str, list[JsonDict]] = {}
        self.webhook: WebhookConfig = WebhookConfig()
        self._blobs: dict[str, bytes] = {}
        self._file_counter: int = 0
        self.dirty: bool = False

    # ------------------------------------------------------------------ users
    @property
    def files_dir(self) -> Path | None:
        if self.path is None:
            return None
        return self.path.with_name(self.path.stem + "_files")

    def upsert_user(
        self,
        *,
        user_id: int | None,
        first_name: str,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "ru",
        label: str | None = None,
    ) -> SandboxUser:
        if user_id is None:
            user_id = max([*self.users, 100000000]) + 1
        user = self.users.get(user_id)
        if user is None:
            user = SandboxUser(
                id=user_id,
                first_name=first_name,
                username=username,
                last_name=last_name,
                language_code=language_code,
                label=label,
            )
            self.users[user_id] = user
        else:
            user.first_name = first_name
            user.username = username if username is not None else user.username
            user.last_name = last_name if last_name is not None else user.last_name
            user.language_code = language_code if language_code is not None else user.language_code
            user.label = label if label is not None else user.label
        self.chat(user_id)
        self.dirty = True
        return user

    def find_user(self, ref: int | str) -> SandboxUser | None:
        """By id or by "@username"."""
        if isinstance(ref, int):
            return self.users.get(ref)
        ref = ref.strip()
        if ref.startswith("@"):
            name = ref[1:].lower()
            for user in self.users.values():
                if user.username and user.username.lower() == name:
                    return user
            return None
        try:
            return self.users.get(int(ref))
        except ValueError:
            return None

    def add_group(self, *, title: str, kind: str, creator_id: int) -> SandboxGroup:
        """A new group with its creator; ids as Telegram's (-N for a group, -100N for a supergroup)."""
        number = len(self.groups) + 4001
        group_id = -(1_000_000_000_000 + number) if kind == "supergroup" else -number
        group = SandboxGroup(group_id, title, kind, creator_id, members={creator_id: "creator"})
        self.groups[group_id] = group
        self.chat(group_id)
        self.dirty = True
        return group

    def chat(self, chat_id: int) -> ChatState:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = ChatState(chat_id=chat_id)
            self.chats[chat_id] = chat
        return chat

    # --------------------------------------------------------------- messages
    def add_message(
        self,
        chat_id: int,
        *,
        from_bot: bool,
        sender: JsonDict,
        content: JsonDict,
        reply_keyboard: list[list[JsonDict]] | None = None,
    ) -> StoredMessage:
        chat = self.chat(chat_id)
        owner = self.users.get(chat_id) or self.groups.get(chat_id)
        message_id = chat.next_message_id
        chat.next_message_id += 1
        chat.version += 1
        tg: JsonDict = {
            "message_id": message_id,
            "from": sender,
            "chat": owner.as_chat() if owner else {"id": chat_id, "type": "private"},
            "date": int(time.time()),
        }
        tg.update(content)
        msg = StoredMessage(
            chat_id=chat_id,
            message_id=message_id,
            from_bot=from_bot,
            tg=tg,
            reply_keyboard=reply_keyboard,
            version=chat.version,
        )
        chat.messages[message_id] = msg
        self.dirty = True
        return msg

    def get_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        chat = self.chats.get(chat_id)
        if chat is None:
            return None
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            return None
        return msg

    def touch(self, msg: StoredMessage) -> None:
        chat = self.chat(msg.chat_id)
        chat.version += 1
        msg.version = chat.version
        self.dirty = True

    # ---------------------------------------------------------------- updates
    def push_update(self, kind: str, payload: JsonDict) -> JsonDict:
        update: JsonDict = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        self.dirty = True
        return update

    def confirm_updates(self, offset: int) -> None:
        """Forget updates with update_id < offset (negative offset: keep only the last -offset ones)."""
        before = len(self.updates)
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if len(self.updates) != before:
            self.dirty = True

    # ------------------------------------------------------------------ files
    def add_file(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        self._file_counter += 1
        prefix = "AgAC" if kind == "photo" else "BQAC"
        file_id = prefix + secrets.token_urlsafe(30)
        unique_id = "AQAD" + secrets.token_urlsafe(9)
        if kind == "photo":
            ext = ".png" if data[:4] == b"\x89PNG" else ".jpg"
            folder = "photos"
        else:
            ext = Path(file_name).suffix if file_name else ""
            # Telegram's file_path folders per kind (voice/, videos/, music/, documents/)
            folder = {"voice": "voice", "video": "videos", "audio": "music"}.get(kind, "documents")
        if mime_type in (None, "", "application/octet-stream") and file_name:
            mime_type = mimetypes.guess_type(file_name)[0] or mime_type
        if kind == "photo" and not mime_type:
            mime_type = "image/png" if ext == ".png" else "image/jpeg"
        file_path = f"{folder}/file_{len(self.files) + 1}_{secrets.token_hex(3)}{ext}"
        width = height = None
        if kind == "photo":
            size = image_size(data) or (320, 320)
            width, height = size
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            file_path=file_path,
            kind=kind,
            file_size=len(data),
            mime_type=mime_type or "application/octet-stream",
            file_name=file_name,
            width=width,
            height=height,
        )
        self.files[file_id] = stored
        self.file_paths[file_path] = file_id
        self._blobs[file_id] = data
        folder_path = self.files_dir
        if folder_path is not None:
            folder_path.mkdir(parents=True, exist_ok=True)
            (folder_path / unique_id).write_bytes(data)
        self.dirty = True
        return stored

    def file_bytes(self, file_id: str) -> bytes | None:
        data = self._blobs.get(file_id)
        if data is not None:
            return data
        stored = self.files.get(file_id)
        folder = self.files_dir
        if stored is None or folder is None:
            return None
        blob = folder / stored.file_unique_id
        if not blob.exists():
            return None
        data = blob.read_bytes()
        self._blobs[file_id] = data
        return data

    # ------------------------------------------------------------ persistence
    def to_json(self) -> JsonDict:
        return {
            "format": STATE_FORMAT_VERSION,
            "users": [asdict(u) for u in self.users.values()],
            "groups": [g.as_api() for g in self.groups.values()],
            "chats": [
                {
                    "chat_id": c.chat_id,
                    "next_message_id": c.next_message_id,
                    "version": c.version,
                    "reply_keyboard": c.reply_keyboard,
                    "one_time_keyboard": c.one_time_keyboard,
                    "messages": [asdict(m) for m in c.messages.values()],
                }
                for c in self.chats.values()
            ],
            "updates": self.updates,
            "next_update_id": self.next_update_id,
            "files": [asdict(f) for f in self.files.values()],
            "commands": self.commands,
            "webhook": asdict(self.webhook),
        }

    def load_json(self, data: JsonDict) -> None:
        self.users = {u["id"]: SandboxUser(**u) for u in data.get("users", [])}
        self.groups = {}
        for raw_group in data.get("groups", []):
            members = {int(k): v for k, v in raw_group.get("members", {}).items()}
            group = SandboxGroup(**{**raw_group, "members": members})
            self.groups[group.id] = group
        self.chats = {}
        for raw in data.get("chats", []):
            chat = ChatState(
                chat_id=raw["chat_id"],
                next_message_id=raw.get("next_message_id", 1),
                version=raw.get("version", 0),
                reply_keyboard=raw.get("reply_keyboard"),
                one_time_keyboard=raw.get("one_time_keyboard", False),
            )
            for m in raw.get("messages", []):
                msg = StoredMessage(**m)
                chat.messages[msg.message_id] = msg
            self.chats[chat.chat_id] = chat
        self.updates = list(data.get("updates", []))
        self.next_update_id = int(data.get("next_update_id", 1))
        self.files = {f["file_id"]: StoredFile(**f) for f in data.get("files", [])}
        self.file_paths = {f.file_path: f.file_id for f in self.files.values()}
        self.commands = dict(data.get("commands", {}))
        self.webhook = WebhookConfig(**data.get("webhook", {}))
        self.dirty = False

    def load(self) -> bool:
        """Load from `path` if it exists. Returns True when something was loaded."""
        if self.path is None or not self.path.exists():
            return False
        try:
            self.load_json(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            logger.warning("Sandbox state %s is unreadable (%s); starting empty", self.path, exc)
            return False
        logger.info("Sandbox state loaded from %s (%d users)", self.path, len(self.users))
        return True

    def dump(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)

    def write(self, text: str) -> None:
        """Atomically write a serialized state (from `dump`) to `path`."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)

    def save(self) -> None:
        if self.path is None:
            self.dirty = False
            return
        self.write(self.dump())
        self.dirty = False
