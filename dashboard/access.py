"""Sign-in before any data: Streamlit's OpenID Connect (st.login, [auth] in secrets.toml) or a password from the
secrets file compared in constant time. Without either, only a dashboard bound to this machine opens."""

from __future__ import annotations

import hmac

import streamlit as st

from brandpulse.config import Settings, secret
from brandpulse.serve import PASSWORD_SECRET, is_loopback, oidc_configured


def signed_in(settings: Settings) -> bool:
    """True when the visitor may see data; otherwise the sign-in form (or a refusal) is shown instead."""
    if oidc_configured():
        if st.user.is_logged_in:
            st.sidebar.button("Sign out", on_click=st.logout, key="signout")
            return True
        st.title("brandpulse")
        st.button("Sign in", on_click=st.login, key="signin_oidc")
        return False
    password = secret(PASSWORD_SECRET, required=False)
    if password is not None:
        if st.session_state.get("signed_in"):
            return True
        st.title("brandpulse")
        with st.form("signin"):
            given = st.text_input("Password", type="password", key="signin_password")
            submitted = st.form_submit_button("Sign in")
        if submitted:
            if hmac.compare_digest(given.encode("utf-8"), password.get_secret_value().encode("utf-8")):
                st.session_state["signed_in"] = True
                st.rerun()
            st.error("Wrong password.")
        return False
    if is_loopback(settings.dashboard.host):
        return True
    st.error("Sign-in is not configured, so this dashboard shows nothing beyond this machine. "
             f"Set {PASSWORD_SECRET} in the secrets file, or configure [auth] in .streamlit/secrets.toml.")
    return False
