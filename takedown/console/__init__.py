"""The officer console: accounts and roles today (``takedown.console.accounts``); the web application builds on it.

Needs the ``console`` extra (``pip install 'takedown[console]'``) for password hashing (argon2-cffi).
"""
