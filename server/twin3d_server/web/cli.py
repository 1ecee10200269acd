"""``twin3d users ...``: manage the users file from the command line.

The lead wires it into ``twin3d/cli.py`` (lazily, like ``serve``)::

    from twin3d_server.web.cli import add_users_arguments, users_command
    add_users_arguments(sub.add_parser("users", help="manage the users and tokens of the web server"))
    ...  # dispatch: return users_command(args)

Passwords are never taken from the command line: they are asked for (twice) on a terminal, or
read from the first line of standard input with ``--password-stdin``.
"""

from __future__ import annotations

import getpass
import sys

from twin3d_server.web import users
from twin3d_server.web.users import ROLES


def add_users_arguments(parser) -> None:
    """Sub-commands: list, add, passwd, role, remove, token-add, token-remove, tokens."""
    parser.add_argument("--file", help="the users file (default: the users_file setting, TWIN3D_USERS_FILE)")
    sub = parser.add_subparsers(dest="users_action", required=True)
    sub.add_parser("list", help="list users and their roles")
    for name, text in (("add", "add a user"), ("passwd", "set a user's password")):
        p = sub.add_parser(name, help=text)
        p.add_argument("name")
        if name == "add":
            p.add_argument("--role", required=True, choices=ROLES)
        p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p = sub.add_parser("role", help="change a user's role")
    p.add_argument("name")
    p.add_argument("role", choices=ROLES)
    sub.add_parser("remove", help="remove a user").add_argument("name")
    p = sub.add_parser("token-add", help="create a machine token (printed once)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES, help="the token's scope")
    sub.add_parser("token-remove", help="revoke a machine token").add_argument("name")
    sub.add_parser("tokens", help="list machine tokens")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the passwords differ")
    return first


def users_command(args) -> int:
    """Run one ``twin3d users`` action; returns the exit code (2 for bad input)."""
    from twin3d_server.web.settings import load_web_settings

    path = args.file or load_web_settings().users_file
    if not path:
        print("error: no users file: give --file or set TWIN3D_USERS_FILE", file=sys.stderr)
        return 2
    action = args.users_action
    try:
        if action == "list":
            for u in users.list_users(path):
                print(f"{u['name']}\t{u['role']}")
        elif action == "tokens":
            for t in users.list_tokens(path):
                print(f"{t['name']}\t{t['role']}\t{t['created']}")
        elif action == "add":
            users.add_user(path, args.name, args.role, _password(args.password_stdin))
        elif action == "passwd":
            users.set_password(path, args.name, _password(args.password_stdin))
        elif action == "role":
            users.set_role(path, args.name, args.role)
        elif action == "remove":
            users.remove_user(path, args.name)
        elif action == "token-add":
            print(users.add_token(path, args.name, args.role))
        elif action == "token-remove":
            users.remove_token(path, args.name)
    except (ValueError, KeyError) as exc:
        print(f"error: {str(exc).strip(chr(39))}", file=sys.stderr)
        return 2
    return 0
