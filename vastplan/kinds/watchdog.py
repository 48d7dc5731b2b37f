"""An instance's own watchdog: a POSIX sh loop that vastplan puts in front of the instance's
``onstart`` when its ``lifecycle`` sets a ``ttl``, an ``expires_at`` or an ``idle`` rule, so the
instance stops or destroys itself when nobody runs vastplan.

It acts with the container's own ``CONTAINER_ID`` and ``CONTAINER_API_KEY`` (Vast.ai gives every
container these; the key can stop, destroy and read only that instance), never the account key.
GPU use is read from ``nvidia-smi`` (the busiest GPU), or, where the image has no ``nvidia-smi``,
from the instance's own ``gpu_util`` as the API reports it. The API base is ``VAST_API_URL`` (the
official SDK's variable, default https://console.vast.ai); ``VASTPLAN_WATCHDOG_TICK`` (seconds between
checks, default 60) and ``VASTPLAN_WATCHDOG_SCALE`` (how many seconds of the rules one real second
counts as, default 1: a fast clock for tests) may be set in the container's env.

The composed text starts with ``# vastplan watchdog: <rule>`` and ends the watchdog's part with
``# vastplan watchdog end``; ``split`` reads both back from a listing, so a plan compares the user's
own onstart and the rule, never the script."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

ONSTART_LIMIT = 4048  # Vast.ai's limit on an instance's onstart, in characters
HEADER = "# vastplan watchdog: "
END = "# vastplan watchdog end"
DEFAULT_BELOW = 5
DEFAULT_THEN = "stop"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Runs as `sh -c '<SCRIPT>' vastplan-watchdog TTL EXPIRES AFTER BELOW THEN` (seconds, epoch seconds,
# seconds, percent, stop|destroy; 0 turns a rule off), so it must hold no single quote. It ignores
# SIGHUP itself (as nohup would, which not every image has) and runs detached: `( ... &)`.
SCRIPT = r"""trap "" HUP; T=$1 X=$2 A=$3 B=$4 D=$5
U=${VAST_API_URL:-https://console.vast.ai}
S=${VASTPLAN_WATCHDOG_SCALE:-1} K=${VASTPLAN_WATCHDOG_TICK:-60} I=$CONTAINER_ID
say() { echo "vastplan-watchdog: $*"; }
[ -n "$I" ] && [ -n "$CONTAINER_API_KEY" ] || { say "no CONTAINER_ID or CONTAINER_API_KEY: not watching"; exit 0; }
H="Authorization: Bearer $CONTAINER_API_KEY" C="Content-Type: application/json" P="$U/api/v0/instances/$I/"
api() {
 if command -v curl >/dev/null 2>&1; then curl -fsS -m 30 -X "$1" -H "$H" -H "$C" ${2:+-d "$2"} "$P"
 elif command -v wget >/dev/null 2>&1; then
  wget -q -O- -T 30 --method="$1" --header="$H" --header="$C" ${2:+--body-data="$2"} "$P"
 else say "neither curl nor wget in this image: cannot act"; return 1; fi
}
field() { tr -d "\n\r\t " | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" | cut -d. -f1; }
gpu() {
 if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits | tr -d " " | sort -n | tail -n 1
 else api GET | field gpu_util; fi
}
act() {
 say "$1: $2"
 if [ "$2" = stop ]; then api PUT "{\"state\":\"stopped\"}" >/dev/null; else api DELETE >/dev/null; fi && exit 0
 say "the $2 call failed; trying again in ${K}s"
}
st=$(api GET | field start_date); [ -n "$st" ] || st=$(date +%s)
say "watching instance $I (ttl ${T}s, expires_at $X, idle ${A}s below $B%, then $D)"
w=""
while :; do
 n=$(date +%s)
 [ "$T" -gt 0 ] && [ $(((n - st) * S)) -ge "$T" ] && act "ttl reached" destroy
 [ "$X" -gt 0 ] && [ "$n" -ge "$X" ] && act "expires_at reached" destroy
 if [ "$A" -gt 0 ]; then
  g=$(gpu)
  case $g in ""|*[!0-9]*) w="" ;; *)
   if [ "$g" -lt "$B" ]; then
    [ -n "$w" ] || w=$n
    [ $(((n - w) * S)) -ge "$A" ] && act "GPU below $B% for ${A}s" "$D"
   else w=""; fi ;;
  esac
 fi
 sleep "$K"
done"""


def seconds(text: Any) -> int:
    """``90s``, ``30m``, ``8h``, ``2d`` in seconds (0 for anything else: the stack check reports it)."""
    if not isinstance(text, str) or len(text) < 2 or text[-1] not in _UNITS or not text[:-1].isdigit():
        return 0
    return int(text[:-1]) * _UNITS[text[-1]]


def idle_rule(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """``{after, gpu_util_below, then}`` with the defaults filled in, or None without an idle rule."""
    idle = config.get("idle")
    if not isinstance(idle, Mapping) or not idle.get("after"):
        return None
    return {"after": idle["after"], "gpu_util_below": int(idle.get("gpu_util_below", DEFAULT_BELOW)),
            "then": str(idle.get("then", DEFAULT_THEN))}


def describe(config: Mapping[str, Any]) -> str:
    """The rule in one line (the plan's ``watchdog`` field and the script's header); "" for none."""
    parts = []
    if config.get("ttl"):
        parts.append(f"ttl {config['ttl']}, then destroy")
    elif config.get("expires_at"):
        parts.append(f"expires_at {config['expires_at']}, then destroy")
    idle = idle_rule(config)
    if idle is not None:
        parts.append(f"idle {idle['after']} below {idle['gpu_util_below']}% GPU, then {idle['then']}")
    return "; ".join(parts)


def _epoch(text: Any) -> int:
    if not isinstance(text, str):
        return 0
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")).timestamp())
    except ValueError:
        return 0


def compose(own: str, config: Mapping[str, Any]) -> str:
    """The onstart an instance is given: the watchdog (started in the background) in front of the
    user's own script (after its ``#!`` line if it has one); the user's script alone without a rule."""
    rule = describe(config)
    if not rule:
        return own
    idle = idle_rule(config) or {"after": "", "gpu_util_below": DEFAULT_BELOW, "then": DEFAULT_THEN}
    args = (seconds(config.get("ttl")), 0 if config.get("ttl") else _epoch(config.get("expires_at")),
            seconds(idle["after"]), idle["gpu_util_below"], idle["then"])
    block = (f"{HEADER}{rule}\n(sh -c '{SCRIPT}' vastplan-watchdog {' '.join(str(a) for a in args)} "
             f"</dev/null &)\n{END}")
    shebang, rest = _shebang(own)
    return shebang + block + (f"\n{rest}" if rest else "")


def split(onstart: str) -> tuple[str, str]:
    """(the user's own onstart, the rule) from an instance's onstart as the API reports it."""
    shebang, rest = _shebang(onstart)
    if not rest.startswith(HEADER):
        return onstart, ""
    head, _, body = rest.partition("\n")
    if END not in body:
        return onstart, ""
    _, _, own = body.partition(END)
    return shebang + own.removeprefix("\n"), head[len(HEADER):]


def _shebang(text: str) -> tuple[str, str]:
    if text.startswith("#!"):
        line, _, rest = text.partition("\n")
        return line + "\n", rest
    return "", text


def length_problem(own: str, config: Mapping[str, Any]) -> str:
    """Why the composed onstart would not fit Vast.ai's limit ("" when it fits)."""
    total = len(compose(own, config))
    if total <= ONSTART_LIMIT or len(own) > ONSTART_LIMIT:  # the latter, the schema check reports
        return ""
    watchdog = total - len(own)
    return (f"onstart is {len(own)} characters and the lifecycle watchdog vastplan adds in front of it takes "
            f"{watchdog} more: {total} in all, over Vast.ai's limit of {ONSTART_LIMIT}; shorten onstart to at "
            f"most {ONSTART_LIMIT - watchdog} characters (or move it into a script in the image)")


def moment(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def limits(config: Mapping[str, Any], expires_at: Any, idle_since: Any, now: float) -> str:
    """The plan's line for one instance: when it expires (recorded, or as it would be if created now)
    and its idle rule; "" for neither."""
    parts = []
    if isinstance(expires_at, (int, float)):
        why = f"ttl {config['ttl']}" if config.get("ttl") else "expires_at"
        parts.append(f"expires {moment(expires_at)} ({why}), then destroyed")
    elif config.get("ttl"):
        parts.append(f"expires {config['ttl']} after it is created (about {moment(now + seconds(config['ttl']))}), "
                     "then destroyed")
    elif config.get("expires_at") and _epoch(config["expires_at"]):
        parts.append(f"expires {moment(_epoch(config['expires_at']))} (expires_at), then destroyed")
    idle = idle_rule(config)
    if idle is not None:
        verb = "stopped" if idle["then"] == "stop" else "destroyed"
        text = f"{verb} once its GPU use stays below {idle['gpu_util_below']}% for {idle['after']}"
        if isinstance(idle_since, (int, float)):
            text += f" (idle since {moment(idle_since)})"
        parts.append(text)
    return "; ".join(parts)
