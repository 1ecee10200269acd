"""The login page: a plain, accessible HTML form with no script and no inline style."""

from __future__ import annotations

from html import escape

LOGIN_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — twin3d</title>
</head>
<body>
<main>
<h1>Sign in to twin3d</h1>
{message}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<p><label for="username">User name</label><br>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="{username}"></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>
</main>
</body>
</html>
"""


def login_page(next_path: str = "/", username: str = "", message: str = "") -> str:
    """The login form; ``message`` is shown in an alert region (e.g. a failed attempt)."""
    alert = f'<p role="alert" id="login-error">{escape(message)}</p>' if message else ""
    return LOGIN_PAGE.format(message=alert, next=escape(next_path, quote=True), username=escape(username, quote=True))
