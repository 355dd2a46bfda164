"""Email addresses as identities: who a sign-in claim is, and which addresses a workbook may name.

Roles come from the email address (see ``access``), so an address must not be borrowable:

- the local identity (``local-admin``, the trusted user of local mode and the command line)
  is reserved: it is not an address, so no sign-in claim can become it;
- addresses are compared only after Unicode normalisation, and a claim whose address changes
  under NFKC is refused rather than normalised: ``KIM.LEAD@`` written with a Kelvin sign
  (U+212A) would otherwise lower-case into the real KIM lead's address;
- the domain must be plain ASCII, so look-alike letters cannot stand in a domain;
- when the identity provider says whether it checked the address (``email_verified``), it
  must have.

The syntax itself is judged by ``email-validator`` (no DNS look-up: the department's mail
domain need not be reachable from the server).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from email_validator import EmailNotValidError, validate_email

from kim_metrics.domain.access import LOCAL_ADMIN_EMAIL
from kim_metrics.domain.errors import KimError

# Longest address kept (RFC 5321's path limit); the columns hold 320.
MAX_ADDRESS = 254


class IdentityRefused(KimError):
    """A sign-in claim or an address that cannot stand for a person."""


def normalise_address(text: str) -> str:
    """``text`` as the one lower-case form every address is stored and compared in.

    Raises ``IdentityRefused`` saying why when it is not a plain, unambiguous address.
    """
    raw = str(text).strip()
    if not raw:
        raise IdentityRefused("The email address is empty.")
    if len(raw) > MAX_ADDRESS:
        raise IdentityRefused(f"The email address is longer than {MAX_ADDRESS} characters.")
    if raw.casefold() == LOCAL_ADMIN_EMAIL:
        raise IdentityRefused(f"'{LOCAL_ADMIN_EMAIL}' is reserved for the local user of a "
                              "dashboard without sign-in and cannot be an email address.")
    if unicodedata.normalize("NFKC", raw) != raw:
        raise IdentityRefused(f"'{raw}' contains characters that stand for other letters (it "
                              "changes under Unicode normalisation). Type the address in plain "
                              "letters.")
    # A letter whose lower case is a plain ASCII letter (İ, K) must be written as that letter.
    if any(not ch.isascii() and ch.lower().isascii() for ch in raw):
        raise IdentityRefused(f"'{raw}' contains a letter that lower-cases into a plain one. "
                              "Type the address in plain letters.")
    local, at, domain = raw.rpartition("@")
    if not at or not local or not domain:
        raise IdentityRefused(f"'{raw}' is not an email address: it needs a name, '@' and a "
                              "domain, such as jane.smith@dept.gov.uk.")
    if not domain.isascii():
        raise IdentityRefused(f"'{raw}' has letters outside plain ASCII in its domain "
                              f"'{domain}'. Give the address with its plain domain.")
    try:
        validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise IdentityRefused(f"'{raw}' is not an email address: {exc}") from None
    return raw.lower()


def claimed_email(claims: Mapping[str, object]) -> str:
    """The address a signed-in person's identity-provider claims name, normalised.

    Refuses (``IdentityRefused``) a claim with no address, an address that is not plain (see
    ``normalise_address``) and one the provider says it has not verified.
    """
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise IdentityRefused("Your sign-in did not give an email address, and KIM League "
                              "knows people by their work email. Ask your IT team to release "
                              "the email claim to KIM League.")
    if "email_verified" in claims and not _true(claims["email_verified"]):
        raise IdentityRefused("Your identity provider has not verified your email address, so "
                              "KIM League cannot tell who you are. Verify it with your IT "
                              "team and sign in again.")
    return normalise_address(email)


def _true(value: object) -> bool:
    # Some providers send the claim as the string "true" rather than a JSON boolean.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
