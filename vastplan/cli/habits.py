"""Terraform's spellings of options, turned into click's before click parses the command line.

Terraform writes every option with one dash (``-auto-approve``, ``-target=ADDR``, ``-var a=b``) and
booleans as ``-name=true|false`` (``-refresh=false``, ``-lock=false``, ``-input=false``). One walk over
the arguments finds the command they address and rewrites a single-dash token whose name is a long
option of that command (or of the group) to ``--name``; short options (``-f``, ``-v``, ``-h``) are
not long names and stay as they are, and the value of an option that takes one is never rewritten,
even when it starts with a dash. A name the command lacks becomes ``--name`` too, so that click's
error names it as typed."""

from __future__ import annotations

from dataclasses import dataclass

import click

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class _Long:
    """What a long option name (without its dashes) stands for."""

    takes_value: bool  # the next token is its value unless given as name=value
    is_flag: bool  # a switch: name=true / name=false are Terraform's boolean spellings


def _long_names(command: click.Command) -> dict[str, _Long]:
    names: dict[str, _Long] = {"help": _Long(False, True)}  # click adds -h/--help outside ``params``
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        # An option whose value is optional (--sandbox [DIR]) takes the next token only when it is no option.
        takes_value = not param.is_flag and not getattr(param, "_flag_needs_value", False) and param.nargs != 0
        for opt in [*param.opts, *param.secondary_opts]:
            # "--name" is kept as "name", "-f" as "-f": a short option's value must not be rewritten either
            names[opt[2:] if opt.startswith("--") else opt] = _Long(takes_value, param.is_flag)
    return names


def terraform_spellings(group: click.Group, args: list[str]) -> list[str]:
    """``args`` with Terraform's option spellings replaced by click's (see the module docstring)."""
    command: click.Command = group
    known = _long_names(group)
    out: list[str] = []
    value_next = False
    for index, token in enumerate(args):
        if value_next:
            out.append(token)
            value_next = False
        elif token == "--":
            return out + args[index:]
        elif token in known:  # a short option, as click spells it
            out.append(token)
            value_next = known[token].takes_value
        elif token.startswith("-") and len(token) > 2:
            rewritten, value_next = _option(token, known)
            out += rewritten
        else:
            out.append(token)
            if isinstance(command, click.Group) and not token.startswith("-"):
                sub = command.commands.get(token)
                if sub is not None:
                    command = sub
                    known = {**known, **_long_names(sub)}
    return out


def _option(token: str, known: dict[str, _Long]) -> tuple[list[str], bool]:
    """The tokens ``token`` becomes, and whether the next token is its value."""
    name, sep, value = token.lstrip("-").partition("=")
    dashes = len(token) - len(token.lstrip("-"))
    option, negated = known.get(name), f"no-{name}" in known
    if dashes > 2 or (dashes == 1 and option is None and not negated and f"-{name[:1]}" in known):
        return [token], False  # a cluster of short options (-vh), or one with its value attached (-fx.yaml)
    if sep and (option.is_flag if option else negated) and value.lower() in _TRUE | _FALSE:
        return _boolean(name, value.lower() in _TRUE, known), False
    # An unknown name is spelled with two dashes too, so that click's error names it as typed (--lock, not -l).
    return [f"--{name}" + (f"={value}" if sep else "")], option is not None and option.takes_value and not sep


def _boolean(name: str, wanted: bool, known: dict[str, _Long]) -> list[str]:
    """``-name=true|false``: the switch that says it (``--no-refresh``), or nothing when the default does."""
    if wanted:
        return [f"--{name}"] if name in known else []
    return [f"--no-{name}"] if f"no-{name}" in known else []
