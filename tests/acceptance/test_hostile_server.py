"""A hostile or broken server: echoed keys, huge answers, transient 500s, URLs that cannot work."""

from __future__ import annotations

import pytest

from tests.harness import CANARY_API_KEY, Workspace, admin, assert_clean_failure, skeleton_stack, templates_in_sandbox


@pytest.mark.parametrize("command", [("plan",), ("plan", "--json"), ("apply", "--auto-approve", "--json")])
def test_a_server_echoing_the_request_headers_never_gets_the_key_printed(
        workspace: Workspace, command: tuple[str, ...]) -> None:
    workspace.write(skeleton_stack(keys=()))
    admin(workspace, "POST", "/faults", {"status": 400, "body": "echo", "route": "GET *"})
    result = workspace.vastplan(*command)
    assert result.code == 1
    assert "upstream failed for request with headers" in result.text  # the server's own message is shown
    assert "Authorization: Bearer (redacted)" in result.text
    assert CANARY_API_KEY not in result.text  # the workspace fixture also scans every file written


def test_an_answer_larger_than_the_cap_is_refused_not_buffered(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(keys=()))
    admin(workspace, "POST", "/faults", {"status": 500, "body": "huge", "route": "GET *"})
    result = workspace.vastplan("plan")
    assert result.code == 1
    assert "the API answered with more than 32 MiB; not reading further" in result.err
    assert len(result.text) < 10_000  # the body itself is never printed
    assert_clean_failure(result.text)


def test_transient_500s_on_reads_and_deletes_are_retried(workspace: Workspace) -> None:
    workspace.write(skeleton_stack(keys=()))
    admin(workspace, "POST", "/faults", {"status": 500, "count": 2, "route": "GET *"})
    applied = workspace.vastplan("apply", "--auto-approve")
    assert applied.code == 0, applied.text
    admin(workspace, "POST", "/faults", {"status": 500, "count": 1, "route": "DELETE *"})
    destroyed = workspace.vastplan("destroy", "--auto-approve")
    assert destroyed.code == 0, destroyed.text
    assert templates_in_sandbox(workspace) == []
    assert admin(workspace, "GET", "/faults")["faults"] == []  # every injected 500 was met and survived


def test_a_500_on_a_create_is_not_repeated_blindly(workspace: Workspace) -> None:
    """A 500 may have made the object: the create is reconciled (adopted by its marker), never re-sent."""
    workspace.write(skeleton_stack(keys=()))
    admin(workspace, "POST", "/faults", {"kind": "lose_response", "status": 500, "count": 1,
                                        "route": "POST /api/v0/template/"})
    applied = workspace.vastplan("apply", "--auto-approve")
    assert len(templates_in_sandbox(workspace)) == 1, applied.text  # made once, not twice


@pytest.mark.parametrize("url, words", [
    ("ftp://console.vast.ai", "must be http:// or https:// followed by a host name"),
    ("not a url", "must be http:// or https:// followed by a host name"),
    ("http://[::1", "is not a valid URL"),
    ("https://user:pw@console.vast.ai", "must not carry a user name or password"),
])
def test_an_unusable_api_url_is_refused_before_any_request(workspace: Workspace, url: str, words: str) -> None:
    workspace.write(skeleton_stack(keys=()))
    workspace.api_url = url
    result = workspace.vastplan("plan")
    assert result.code == 1
    assert words in result.err
    assert "pw@" not in result.text
    assert_clean_failure(result.text)
    assert "internal error" not in result.text
    assert not workspace.state_path.exists()


def test_a_retry_deadline_from_the_environment_must_be_a_sane_number(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace.write(skeleton_stack(keys=()))
    monkeypatch.setenv("VASTPLAN_RETRY_DEADLINE", "nan")
    result = workspace.vastplan("plan")
    assert result.code == 1
    assert "VASTPLAN_RETRY_DEADLINE must be a number of seconds from 0 to 3600, not 'nan'" in result.err
