from __future__ import annotations

from vastplan.kinds import docker_options


def test_round_trip_of_env_and_ports() -> None:
    env = {"TZ": "UTC", "GREETING": "hello world", "EQ": "a=b"}
    text = docker_options.build(env, [8888, "22/tcp", "5000/udp"])
    assert text.startswith("-p 22:22 -p 5000:5000/udp -p 8888:8888 ")
    assert docker_options.parse(text) == (env, ["22", "5000/udp", "8888"])


def test_the_dict_form_used_at_instance_creation() -> None:
    assert docker_options.parse({"-p 8080:8080": "1", "KEY": "VAL", "-h": "host"}) == ({"KEY": "VAL"}, ["8080"])
