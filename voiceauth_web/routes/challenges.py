"""The spoken liveness challenge: issue a fresh digit string for a user (and a call)."""

from __future__ import annotations

from litestar import post

from voiceauth_core import InvalidInputError, UserId
from voiceauth_core.challenge import MAX_CALL_ID_LENGTH
from voiceauth_core.use_cases import IssueChallenge
from voiceauth_web.presenters import challenge_out
from voiceauth_web.schemas import ChallengeOut, ChallengeRequest

__all__ = ["issue_challenge"]


@post("/api/v1/users/{user_id:str}/challenges", status_code=201, tags=["verification"])
async def issue_challenge(
    user_id: str, issue_challenge: IssueChallenge, data: ChallengeRequest | None = None
) -> ChallengeOut:
    """Issue a single-use challenge: the digits the caller must say, and the sentence to read.

    Answer it within ``expiresAt`` by passing ``challengeId`` to a verification of the same
    user (and, when ``callId`` was given, the same call). It is used up by that verification,
    whatever the answer.
    """
    call_id = data.callId if data is not None else None
    if call_id is not None and not 0 < len(call_id) <= MAX_CALL_ID_LENGTH:
        raise InvalidInputError(f"callId has 1 to {MAX_CALL_ID_LENGTH} characters")
    challenge = await issue_challenge.execute(user_id=UserId.parse(user_id), call_id=call_id)
    return challenge_out(challenge)
