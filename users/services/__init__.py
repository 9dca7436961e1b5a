"""Writes on users, sessions and the audit trail, one module per concern (import from the module).

- auth: sessions, login and lockout, registration, password reset, email verification
- audit: `activity_record`, the one write of the audit trail
- roles: `roles_setup`, the back-office groups
"""
