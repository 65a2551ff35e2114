"""Signing in to the web UI (DESIGN §14): the local form, the company's OpenID provider
(Authlib's Flask client: discovery, the code flow with PKCE, `state` and `nonce`, the ID
token's signature, issuer, audience and times checked) and a signing-in proxy's header.

Every refusal is logged and leaves nobody signed in. A proxy's header is believed only from
`auth.proxy.trusted_proxies`; from anywhere else the request is refused outright.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc.errors import JoseError

from tracker.clock import utcnow
from tracker.context import settings
from tracker.core.signin import (
    EXTERNAL_NAME,
    claim_values,
    has_claim,
    header_groups,
    person_name,
)
from tracker.core.texts import text
from tracker.errors import Forbidden
from tracker.services import identity
from tracker.services.identity import Person, Refused, refused
from tracker.services.users import TooManyAttempts, end_sessions, session_user, sign_in
from tracker.ui import chosen_lang, lang, ui

log = logging.getLogger("tracker.signin")
CLIENT = "tracker.oidc"
STATE_PREFIX = "_state_company_"  # where Authlib keeps a sign-in's state, nonce and verifier
MAX_HINT_BYTES = 2000  # browsers keep cookies of up to 4096 bytes


def init_app(app: Flask) -> None:
    """Register the company's OpenID provider (its metadata is read at the first sign-in,
    so a provider that is down delays sign-in, never start-up) and guard the proxy header."""
    oidc = app.extensions["tracker.settings"].auth.oidc
    if oidc.issuer:
        app.extensions[CLIENT] = OAuth(app).register(
            "company",
            client_id=oidc.client_id,
            client_secret=oidc.client_secret.get_secret_value() or None,
            server_metadata_url=oidc.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": oidc.scopes,
                "code_challenge_method": "S256",
                "default_timeout": 10,
            },
        )
    app.before_request(_proxy_header_from_a_trusted_proxy)


# ---- the sign-in page and the local form ------------------------------------------------------


def _page(error: str = "", status: int = 200, **context: Any) -> tuple[str, int]:
    auth = settings().auth
    return render_template(
        "login.html",
        error=error,
        local=auth.local,
        company=bool(auth.oidc.issuer),
        **context,
    ), status


@ui.get("/login")
def login() -> tuple[str, int]:
    return _page()


@ui.post("/login")
def login_post() -> Response | tuple[str, int]:
    if not settings().auth.local:
        abort(404)
    name = request.form.get("name", "").strip()
    try:
        user = sign_in(
            name, request.form.get("password", ""), address=request.remote_addr or "?", now=utcnow()
        )
    except TooManyAttempts as exc:
        message = text("error.too_many_attempts", lang()).format(minutes=exc.minutes)
        return _page(message, 429, name=name)
    if user is None:
        return _page(text("bad_sign_in", lang()), 401, name=name)
    _start_session(user, via="local")
    return redirect(local_target(request.args.get("next", "")))


def _start_session(user: Any, *, via: str, **extra: Any) -> None:
    chosen = lang()
    session.clear()
    session.update(
        user_id=user.id, key=user.session_key, seen=utcnow().timestamp(), lang=chosen, via=via
    )
    session.update(extra)


def local_target(target: str) -> str:
    """Where to go after signing in: a path on this site, else the dashboard. Browsers drop
    tabs and newlines and read a backslash as a slash, so `/\\t/evil.example` would lead to
    another site: any control character or backslash refuses the target."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return "/"
    return target


@ui.post("/logout")
def logout() -> Response:
    """Sign out: every session of this user ends, a copied cookie included; someone who came
    through the company's provider is signed out there too when it offers that."""
    if g.user is not None:
        end_sessions(g.user)
    via_provider = session.get("via") == "oidc"
    id_token = session.get("id_token") or None
    chosen = lang()
    session.clear()
    session["lang"] = chosen
    client = current_app.extensions.get(CLIENT)
    if via_provider and client is not None:
        try:
            if client.load_server_metadata().get("end_session_endpoint"):
                return client.logout_redirect(
                    post_logout_redirect_uri=_external("ui.login"),
                    id_token_hint=id_token,
                    client_id=client.client_id,
                )
        except requests.RequestException as exc:
            log.warning("could not reach the OpenID provider to sign out there: %s", exc)
    return redirect(url_for("ui.login"))


# ---- the company's OpenID provider -------------------------------------------------------------


def _client() -> Any:
    client = current_app.extensions.get(CLIENT)
    if client is None:
        abort(404)
    return client


def _external(endpoint: str) -> str:
    """This site's URL of a page, under `base_url` when set (behind a proxy the request's
    own host may not be the one people use)."""
    base = settings().base_url.rstrip("/")
    return base + url_for(endpoint) if base else url_for(endpoint, _external=True)


@ui.get("/login/oidc")
def oidc_start() -> Response | tuple[str, int]:
    """Off to the provider's sign-in page, with a fresh state, nonce and PKCE verifier kept
    in this browser's session (a sign-in started before and never finished is forgotten)."""
    client = _client()
    for key in [k for k in session if k.startswith(STATE_PREFIX)]:
        session.pop(key)
    session["signin_next"] = local_target(request.args.get("next", ""))
    try:
        _checked_metadata(client)
        return client.authorize_redirect(_external("ui.oidc_callback"))
    except (requests.RequestException, ValueError) as exc:
        log.warning("the OpenID provider cannot be reached: %s", exc)
        return _page(text("signin.unavailable", lang()), 503)


def _checked_metadata(client: Any) -> dict[str, Any]:
    """The provider's metadata, if it names itself as the configured issuer (OpenID
    Discovery §4.3: another issuer's documents are not to be believed)."""
    metadata = client.load_server_metadata()
    issuer = settings().auth.oidc.issuer.rstrip("/")
    if str(metadata.get("issuer", "")).rstrip("/") != issuer:
        client.server_metadata = {}  # read it again next time
        raise ValueError(f"the discovery document names issuer {metadata.get('issuer')!r}")
    return metadata


@ui.get("/login/oidc/callback")
def oidc_callback() -> Response | tuple[str, int]:
    """The provider sends the browser back with a code: exchanged for tokens (with the PKCE
    verifier), the ID token checked, the person signed in with the role their groups map to."""
    client = _client()
    oidc = settings().auth.oidc
    target = session.pop("signin_next", "/")
    _forget_stale_states()
    try:
        _check_response_issuer()
        token = client.authorize_access_token(leeway=oidc.clock_skew_seconds)
        claims = _claims(client, token)
        name = person_name(claims)
        if name is None:
            raise refused("no_name", "the provider sent neither preferred_username nor email")
        person = Person(
            "oidc", str(claims["iss"]), str(claims["sub"]), name, str(claims.get("email", ""))
        )
        user = identity.sign_in(
            person, oidc.role_of(claim_values(claims, oidc.roles_claim)), now=utcnow()
        )
    except Refused as exc:
        return _refusal(exc.reason)
    except MismatchingStateError:
        log.warning("sign-in refused (state): the callback's state is not this browser's")
        return _refusal("state")
    except OAuthError as exc:  # the provider refused: a used code, a wrong verifier, access_denied
        log.warning("sign-in refused (provider): %s %s", exc.error, exc.description or "")
        return _refusal("provider")
    except JoseError as exc:  # a bad signature, issuer, audience, nonce, or times
        log.warning("sign-in refused (id_token): %s", exc)
        return _refusal("id_token")
    except requests.RequestException as exc:
        log.warning("the OpenID provider cannot be reached: %s", exc)
        return _page(text("signin.unavailable", lang()), 503)
    # Kept for signing out at the provider (id_token_hint), unless it would make the session
    # cookie too big for browsers (Entra ID lists every group): client_id then says who asks.
    hint = token["id_token"] if len(token["id_token"]) <= MAX_HINT_BYTES else ""
    _start_session(user, via="oidc", id_token=hint)
    return redirect(target)


def _check_response_issuer() -> None:
    """A provider that names itself in its answer (RFC 9207) must name our issuer: an answer
    from another provider the browser was sent to is not ours to take (a mix-up attack)."""
    named = request.args.get("iss")
    if named is not None and named.rstrip("/") != settings().auth.oidc.issuer.rstrip("/"):
        raise refused("id_token", f"the answer comes from issuer {named!r}")


def _forget_stale_states() -> None:
    """A sign-in started more than an hour ago is not finished now (Authlib keeps each
    state with its expiry but reads it without looking)."""
    now = utcnow().timestamp()
    for key in [k for k in session if k.startswith(STATE_PREFIX)]:
        value = session[key]
        if not isinstance(value, dict) or not value.get("exp") or value["exp"] < now:
            session.pop(key)


def _claims(client: Any, token: dict[str, Any]) -> dict[str, Any]:
    """The ID token's claims (already verified), with the userinfo endpoint's for the groups
    when the ID token leaves them out (many providers send claims only there); the userinfo
    answer must be about the same subject (OpenID Connect Core §5.3.2)."""
    claims = token.get("userinfo")
    if not claims:
        raise refused("id_token", "the provider's answer holds no ID token")
    claims = dict(claims)
    roles_claim = settings().auth.oidc.roles_claim
    if not has_claim(claims, roles_claim) and client.server_metadata.get("userinfo_endpoint"):
        more = dict(client.userinfo(token=token))
        if more.get("sub") != claims.get("sub"):
            raise refused("id_token", "the userinfo answer is about another subject")
        claims = {**more, **claims}
    return claims


def _refusal(reason: str) -> tuple[str, int]:
    """Nobody is signed in after a refused sign-in (a session of before is ended too)."""
    chosen = lang()
    session.clear()
    session["lang"] = chosen
    g.user = None
    status = 403 if reason in ("no_role", "disabled", "name_taken") else 401
    return _page(text(f"signin.refused.{reason}", lang()), status)


# ---- a signing-in proxy's header ---------------------------------------------------------------


def _peer_address() -> str:
    """The address that connected to us: the proxy's own, never one a header claims."""
    original = request.environ.get("werkzeug.proxy_fix.orig", {})
    return original.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR") or ""


def _proxy_header_from_a_trusted_proxy() -> None:
    """A request carrying the sign-in header from anywhere but a trusted proxy is refused
    (and logged): someone is trying to be somebody."""
    proxy = settings().auth.proxy
    if proxy.header and proxy.header in request.headers and not proxy.trusts(_peer_address()):
        log.warning(
            "sign-in refused (untrusted): a %s header from %s, not a trusted proxy",
            proxy.header,
            _peer_address(),
        )
        raise Forbidden(text("signin.refused.untrusted", "en"))


def _proxy_user(current: Any) -> Any:
    """The person a trusted proxy names in its header, if it names one: the signed-in user
    when it is them (and, with a groups header, their groups still give their role), else
    signed in anew. Without a groups header a newcomer gets `default_role` and an admin sets
    roles from then on."""
    proxy = settings().auth.proxy
    name = request.headers.get(proxy.header, "").strip() if proxy.header else ""
    if not name:
        return current
    if not EXTERNAL_NAME.match(name):
        raise refused("no_name", f"the {proxy.header} header holds no usable name")
    mapped = bool(proxy.groups_header)
    role = proxy.role_of(
        header_groups(request.headers.get(proxy.groups_header, "")) if mapped else []
    )
    same = current is not None and current.source == "proxy" and current.name == name
    if same and (not mapped or role == current.role):
        return current
    user = identity.sign_in(
        Person("proxy", "proxy", name, name), role, now=utcnow(), keep_role=not mapped
    )
    _start_session(user, via="proxy")
    return user


# ---- who is asking -----------------------------------------------------------------------------

OPEN_PAGES = (
    "ui.login",
    "ui.login_post",
    "ui.oidc_start",
    "ui.oidc_callback",
    "ui.static",
    "ui.favicon",
)


@ui.before_request
def _identify() -> Response | tuple[str, int] | None:
    g.lang = chosen_lang()
    try:
        g.user = user = _proxy_user(_session_user())
    except Refused as exc:
        return _refusal(exc.reason)
    if user is not None:
        g.actor, g.role = user.name, user.role
    if user is None and request.endpoint not in OPEN_PAGES:
        return redirect(url_for("ui.login", next=request.full_path))
    return None


def _session_user() -> Any:
    """The signed-in user, if the session is still theirs and not idle too long; a session
    that is not is emptied (but for the language)."""
    if "user_id" not in session:
        return None
    now = utcnow().timestamp()
    idle = settings().auth.session_hours * 3600
    seen = session.get("seen")
    user = session_user(session.get("user_id"), session.get("key"))
    if user is None or not isinstance(seen, (int, float)) or now - seen > idle:
        chosen = session.get("lang")
        session.clear()
        if chosen:
            session["lang"] = chosen
        return None
    if now - seen > 60:  # refreshed once a minute, not a new cookie every request
        session["seen"] = now
    return user
