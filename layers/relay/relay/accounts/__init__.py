"""Accounts: who a person is (their stable `sub`, their handle, their profile) and whom
they block. The identity layer under the other systems: they ask it who a handle is,
and it imports none of them."""
