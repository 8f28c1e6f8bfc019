"""Two-factor sign-in: an authenticator app (TOTP, RFC 6238) after the password, with single-use
backup codes, enforceable per role.

Built on django-otp (its otp_totp and otp_static plugins hold the devices, verify codes, refuse a
replayed code and slow down wrong ones) and segno (the enrolment QR code, as inline SVG). The
modules, each one subject:

- `models`: the per-role policy row (`TwoFactorPolicy`);
- `policy`: which users must use a second factor (cached per process);
- `services`: enrol, check a code, backup codes, remove, an admin's reset, the policy's change;
- `session`: the sign-in between password and code (`PendingSignIn`) and when a session counts
  as complete (second factor passed, single sign-on, or none needed);
- `middleware`: `TwoFactorMiddleware`, the gate every request passes;
- `views`, `forms`, `signals` (`second_factor_changed`, for an audit trail to record).

Nothing is re-exported here: accounts.models imports `models` while Django loads the app."""
