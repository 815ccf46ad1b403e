"""End to end: a whole enrol/verify/erase flow against the real service at ``LOG_LEVEL=DEBUG``,
with voiceprints sealed under a fresh template key, then every line the process wrote (stdout and
stderr, JSON or not) is searched for the phone number, the listen URLs, the audio URL's tokens,
every key and secret (the template key too), and the voiceprint: the vectors opened from the
sealed columns, and the sealed bytes themselves."""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.log_leaks import LeakScanner
from tests.e2e.service import Service, service_process
from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.http.testing import AudioFileServer, Route
from voiceauth_adapters.sealing import new_key, parse_keyring
from voiceauth_adapters.sealing.cipher import Field, TemplateCipher
from voiceauth_adapters.vapi.testing import (
    Failure,
    ListenCall,
    VapiListenServer,
    tool_call_message,
)
from voiceauth_core import UserId
from voiceauth_core.embedding import Vector

pytestmark = pytest.mark.e2e

PHONE = "+14155550163"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Secrets:
    """Distinctive values the service is given or sent, none of which may reach its log (nor a
    failure report: the repr names them only)."""

    api_key: str
    second_key: str
    tool_secret: str
    public_key: str
    wrong_key: str
    wrong_bearer: str
    wrong_tool_secret: str
    listen_token: str
    audio_token: str
    audio_signature: str
    template_key: str

    def __repr__(self) -> str:
        return f"Secrets({', '.join(f.name for f in dataclasses.fields(self))})"

    def named(self) -> Iterator[tuple[str, str]]:
        """Each secret with its name (``api key``, ...)."""
        for item in dataclasses.fields(self):
            yield item.name.replace("_", " "), getattr(self, item.name)


@dataclass(frozen=True, slots=True)
class LoggedService:
    """The running service, its log file and its SQLite file."""

    running: Service
    log: Path
    database: Path

    def stop(self) -> None:
        """Stop the process so that everything it wrote is in the log."""
        self.running.process.terminate()
        self.running.process.wait(timeout=30)


@pytest.fixture
def given() -> Secrets:
    def token(kind: str) -> str:
        return f"{kind}-{secrets.token_hex(10)}"

    return Secrets(
        api_key=token("apikey"),
        second_key=token("apikey2"),
        tool_secret=token("toolsecret"),
        public_key=token("vapipub"),
        wrong_key=token("wrongkey"),
        wrong_bearer=token("wrongbearer"),
        wrong_tool_secret=token("wrongtool"),
        listen_token=token("listentoken"),
        audio_token=token("audiotoken"),
        audio_signature=token("audiosig"),
        template_key=new_key(),
    )


@pytest.fixture
def service(tmp_path: Path, given: Secrets) -> Iterator[LoggedService]:
    env = {
        "VOICEAUTH_DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "DEBUG",
        "VOICEAUTH_API_KEYS": f"{given.api_key},{given.second_key}",
        "VAPI_TOOL_SECRET": given.tool_secret,
        "VAPI_PUBLIC_KEY": given.public_key,
        "VOICEAUTH_TEMPLATE_KEY": given.template_key,
    }
    log = tmp_path / "service.log"
    with service_process(env, log) as running:
        yield LoggedService(running=running, log=log, database=tmp_path / "data" / "voiceauth.db")


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Voiceprint:
    """One stored vector: its column, the sealed value in the row, and the vector it opens to."""

    name: str
    sealed: bytes
    vector: Vector

    def __repr__(self) -> str:
        return f"Voiceprint({self.name})"  # never the values, not even in a failure report


_COLUMNS: tuple[tuple[str, Field], ...] = (
    ("mean", "embedding"),
    ("sum", "embedding_sum"),
    ("phone-band sum", "phone_band_sum"),
)


def stored_voiceprints(database: Path, cipher: TemplateCipher) -> list[Voiceprint]:
    """The users' stored vectors (mean, sum, phone-band sum), read beside the running service and
    opened as the store opens them (bound to the row's user id and the column)."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        rows = connection.execute(
            "SELECT id, embedding, embedding_sealed, embedding_sum, embedding_sum_sealed,"
            " phone_band_sum, phone_band_sum_sealed FROM users"
        ).fetchall()
    found: list[Voiceprint] = []
    for ident, mean, mean_sealed, total, total_sealed, twin, twin_sealed in rows:
        for clear in (mean, total, twin):
            assert clear is None, "a voiceprint is stored in the clear although a key is set"
        assert twin_sealed is not None, "the phone-band voiceprint was not stored"
        user = UserId(value=uuid.UUID(ident))
        sealed_columns = (mean_sealed, total_sealed, twin_sealed)
        for (name, column), sealed in zip(_COLUMNS, sealed_columns, strict=True):
            if sealed:
                vector = cipher.open(user, column, bytes(sealed))
                found.append(Voiceprint(name=name, sealed=bytes(sealed), vector=vector))
    return found


def tool_call(phone: str, listen_url: str) -> dict[str, object]:
    """A VAPI ``tool-calls`` message asking ``verify_voice`` about ``phone``."""
    return tool_call_message(
        {"phone": phone},
        listen_url=listen_url,
        customer_number=phone,
        tool_call_id="call_tool_privacy",
        call_id="call-privacy",
    )


async def test_no_log_line_carries_a_phone_number_url_key_or_voiceprint(
    service: LoggedService, given: Secrets
) -> None:
    user = str(uuid.uuid4())
    key = {"X-API-Key": given.api_key}
    files = AudioFileServer()
    audio_path = f"/recordings/{given.audio_token}/alice.flac"
    files.add(
        audio_path, Route(body=(SPEECH / "103_a.flac").read_bytes(), content_type="audio/flac")
    )
    missing_path = f"/recordings/{given.audio_token}/missing.flac"
    files.add(missing_path, Route(status=404, content_type="text/plain"))
    calls = VapiListenServer()
    cipher = TemplateCipher(parse_keyring(given.template_key))
    voiceprints: list[Voiceprint] = []
    listen_urls: list[str] = []

    def listen(call: ListenCall) -> str:
        url = f"{calls.add(call)}?token={given.listen_token}"
        listen_urls.append(url)
        return url

    requests: list[httpx.Response] = []

    async def answered(response: httpx.Response) -> None:
        requests.append(response)

    async with (
        files,
        calls,
        httpx.AsyncClient(
            base_url=service.running.url, timeout=60, event_hooks={"response": [answered]}
        ) as client,
    ):
        # Enrol from a URL whose path and query carry tokens, the phone written with separators.
        enrolled = await client.post(
            "/api/v1/enroll-user",
            json={
                "userId": user,
                "phone": "+1 (415) 555-0163",
                "audioUrl": f"{files.url(audio_path)}?sig={given.audio_signature}",
            },
            headers=key,
        )
        assert enrolled.status_code == 200, enrolled.text
        voiceprints += stored_voiceprints(service.database, cipher)

        # A second sample by upload, with the phone in E.164.
        added = await client.post(
            f"/api/v1/users/{user}/enrollments",
            files={"file": ("b.flac", (SPEECH / "103_b.flac").read_bytes(), "audio/flac")},
            data={"phone": PHONE},
            headers=key,
        )
        assert added.status_code == 200, added.text
        assert added.json()["sampleCount"] == 2
        voiceprints += stored_voiceprints(service.database, cipher)

        # A download that fails logs its URL too.
        failed = await client.post(
            "/api/v1/enroll-user",
            json={"userId": user, "audioUrl": files.url(missing_path)},
            headers=key,
        )
        assert failed.status_code >= 400, failed.text

        # verify-password by user id over a listen URL that carries a token (and needs the
        # VAPI public key as a bearer token), then by phone.
        genuine = listen(
            ListenCall(caller=speech("103_b"), assistant=speech("1098_a"), token=given.public_key)
        )
        accepted = await client.post(
            "/api/v1/verify-password", json={"userId": user, "listenUrl": genuine}, headers=key
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["decision"] == "accept"
        impostor = listen(ListenCall(caller=speech("1098_b"), token=given.public_key))
        rejected = await client.post(
            "/api/v1/verify-password", json={"phone": PHONE, "listenUrl": impostor}, headers=key
        )
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["decision"] == "reject"

        # A listen socket that refuses the upgrade: the capture failure is logged.
        refused = listen(ListenCall(caller=speech("103_b"), failure=Failure.REJECT))
        broken = await client.post(
            "/api/v1/verify-password", json={"phone": PHONE, "listenUrl": refused}, headers=key
        )
        assert broken.status_code >= 400, broken.text

        # VAPI's tool call with its secret, and one with a wrong secret.
        answer = await client.post(
            "/api/v1/vapi/tool-calls",
            json=tool_call(
                PHONE, listen(ListenCall(caller=speech("103_b"), token=given.public_key))
            ),
            headers={"X-Vapi-Secret": given.tool_secret},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["result"].startswith("Voice verified")
        forged = await client.post(
            "/api/v1/vapi/tool-calls",
            json=tool_call(PHONE, listen(ListenCall(caller=speech("103_b")))),
            headers={"X-Vapi-Secret": given.wrong_tool_secret},
        )
        assert forged.status_code == 401

        # Wrong API keys, in both headers a client may use.
        for header in (
            {"X-API-Key": given.wrong_key},
            {"Authorization": f"Bearer {given.wrong_bearer}"},
        ):
            assert (await client.get("/api/v1/users", headers=header)).status_code == 401

        # The history, read with the second key as a bearer token; then the erasure.
        history = await client.get(
            f"/api/v1/users/{user}/auth-history",
            headers={"Authorization": f"Bearer {given.second_key}"},
        )
        assert history.status_code == 200, history.text
        assert len(history.json()["attempts"]) >= 3
        assert (await client.delete(f"/api/v1/users/{user}", headers=key)).status_code == 204
    service.stop()

    assert voiceprints, "the enrolment stored no voiceprint to search the log for"
    scanner = LeakScanner()
    scanner.phone(PHONE)
    for name, value in given.named():
        scanner.secret(name, value)
    # The template key also without its base64 padding, and as raw bytes (hex, standard base64).
    scanner.secret("template key", given.template_key.rstrip("="))
    scanner.blob("template key bytes", parse_keyring(given.template_key).current.secret)
    for url in listen_urls:
        scanner.secret("listen URL", url)
        scanner.secret("listen URL path", urllib.parse.urlsplit(url).path)
    scanner.secret("audio URL path", audio_path)
    for voiceprint in voiceprints:
        name = voiceprint.name
        scanner.blob(f"voiceprint ({name}) sealed bytes", voiceprint.sealed)
        scanner.blob(f"voiceprint ({name}) bytes", voiceprint.vector.astype("<f8").tobytes())
        scanner.embedding(f"voiceprint ({name})", voiceprint.vector.tolist())

    lines = service.log.read_text(errors="replace").splitlines()
    # The log is the one the requests went to (each request leaves a line).
    logged_requests = [line for line in lines if '"message": "request"' in line]
    assert len(logged_requests) >= len(requests), f"{len(logged_requests)} request lines"
    findings = scanner.scan(lines)
    assert not findings, f"{len(findings)} of {len(lines)} log lines leak:\n" + "\n".join(
        map(str, findings)
    )
