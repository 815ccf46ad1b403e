"""What the synthesisers of the spoof corpus say: a caller's phrases to a bank's phone assistant.

Forty texts written for this corpus: sentences, and twelve strings of digits read out as a caller
reads an account number or a one-time code, each about three to six seconds when spoken. Every
voice says the same texts, so a detector cannot tell spoofs by their words.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SPOOF_TEXTS", "SpoofText"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoofText:
    """One text.

    Args:
        text_id: Its stable name in the manifest (``t01`` ... ``t40``).
        text: What is said.
    """

    text_id: str
    text: str


_TEXTS = (
    "Hello, I would like to check the balance of my current account, please.",
    "My account number is 4 7 1 9 2 8 3 0.",
    "I need to report a lost debit card and order a new one.",
    "Can you tell me when my last salary payment arrived?",
    "The code you sent me is 5 2 8 1 9 6.",
    "Please transfer two hundred pounds to my savings account today.",
    "I am calling because a payment I did not make appears on my statement.",
    "My date of birth is the 14th of March, 1986.",
    "Could you move my appointment with the mortgage adviser to next Tuesday?",
    "The last four digits of my card are 3 3 0 7.",
    "I would like to raise the daily limit on my contactless payments.",
    "Yes, that is correct, please go ahead with the transfer.",
    "My customer reference is 9 0 4 4 1 7 2.",
    "I have moved house and need to update my address on the account.",
    "Can I speak to someone about a loan for a new car?",
    "Please read me the last five transactions on my credit card.",
    "The sort code is 2 0 3 5 8 1.",
    "I want to cancel the standing order to my old landlord.",
    "Is there a fee for sending money to an account abroad?",
    "My voice is my password, please verify me.",
    "The one-time passcode on my phone says 7 4 0 2 6 9.",
    "I forgot my online banking password and I am locked out.",
    "Please block my card straight away, I think it was stolen.",
    "My phone number ends in 6 1 8 8 4.",
    "Could you send a new statement to my email address?",
    "I would like to open a savings account for my daughter.",
    "The amount was three hundred and forty two pounds and fifteen pence.",
    "Please confirm the payee: account 8 2 7 5 0 1 9 3.",
    "When will the money be available in my account?",
    "I did not recognise the last call from your fraud team.",
    "The security number on the back of the card is 4 1 6.",
    "Can you put a travel note on my card for the next two weeks?",
    "I want to dispute a charge from an online shop.",
    "My membership number is 1 5 9 3 5 7 2 4.",
    "Please pay my credit card bill in full from my current account.",
    "Thank you, that is everything I needed today.",
    "The reference for the payment is invoice 3 8 0 6 2.",
    "I would like to change the phone number linked to my account.",
    "Could you explain the interest rate on my overdraft?",
    "Please repeat the code: 2 9 9 1 0 5.",
)

#: The forty texts, in the order they are used (``--texts N`` takes the first N).
SPOOF_TEXTS: tuple[SpoofText, ...] = tuple(
    SpoofText(text_id=f"t{number:02d}", text=text) for number, text in enumerate(_TEXTS, start=1)
)
