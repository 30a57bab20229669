"""The staff area at /staff/: console pages for work that needs a queue, a thread or a whole customer (DESIGN.md
section 6, "two doors for staff"). Signed in with the admin's staff users, sessions, roles and two-factor
(``auth``, ``login``); one menu (``nav``); the support console (``support``)."""
