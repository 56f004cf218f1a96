"""``cupiform emulator serve`` as a real process: TLS, persistence, flags, refusals."""

from __future__ import annotations

import signal
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from tests.conftest import JDOE
from tests.processes import emulator_process, run_cli

JSON = {"Accept": "application/json"}


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_tls_on_8443_trusted_through_the_ca_it_writes(tmp_path: Path, seed_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    port = "8443" if _port_free(8443) else "0"
    with emulator_process(
        "--tls", "--port", port, "--ca-out", str(ca), "--seed", str(seed_path)
    ) as served:
        assert served.url.startswith("https://127.0.0.1:")
        if port == "8443":
            assert served.url == "https://127.0.0.1:8443"
        with httpx.Client(
            verify=ssl.create_default_context(cafile=str(ca)), auth=("admin", "admin")
        ) as client:
            response = client.get(f"{served.url}/vmrest/users/{JDOE}", headers=JSON)
            assert response.status_code == 200
            assert response.json()["Alias"] == "jdoe"
            secure = [c for c in response.headers.get_list("set-cookie") if "JSESSIONID=" in c]
            assert "Secure" in secure[0]
        localhost = served.url.replace("127.0.0.1", "localhost")
        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as client:
            assert client.get(f"{localhost}/vmrest/users").status_code == 401
        with (
            httpx.Client() as untrusting,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            untrusting.get(f"{served.url}/vmrest/users")


def test_db_keeps_data_and_a_seed_only_fills_a_new_database(
    tmp_path: Path, seed_path: Path
) -> None:
    db = tmp_path / "emulator.sqlite"
    with emulator_process("--db", str(db), "--seed", str(seed_path)) as served:
        assert "seeded 3 users and 4 addresses" in "".join(served.stderr_lines)
        with httpx.Client(base_url=served.url, auth=("admin", "admin")) as client:
            created = client.post(
                "/vmrest/smtpproxyaddresses",
                json={"SmtpAddress": "kept@example.com", "ObjectGlobalUserObjectId": JDOE},
            )
            assert created.status_code == 201
    with emulator_process("--db", str(db), "--seed", str(seed_path)) as served:
        assert "already holds data" in "".join(served.stderr_lines)
        with httpx.Client(base_url=served.url, auth=("admin", "admin")) as client:
            body = client.get(created.text, headers=JSON).json()
            assert body["SmtpAddress"] == "kept@example.com"
            assert client.get("/vmrest/smtpproxyaddresses?rowsPerPage=0", headers=JSON).json() == {
                "@total": "5"
            }


def test_flags_reach_the_emulator(seed_path: Path) -> None:
    with emulator_process(
        "--seed",
        str(seed_path),
        "--username",
        "ops",
        "--password",
        "s3cret",
        "--latency-ms",
        "5",
        "--max-concurrent",
        "3",
        "--fail-rate",
        "0.25",
        "--drop-post-rate",
        "0.5",
        "--owner-create-only",
    ) as served:
        faults = httpx.get(f"{served.url}/emulator/faults").json()
        assert faults["latency_ms"] == 5
        assert faults["max_concurrent"] == 3
        assert faults["fail_rate"] == 0.25
        assert faults["drop_post_rate"] == 0.5
        assert faults["owner_create_only"] is True
        httpx.post(f"{served.url}/emulator/faults", json={"fail_rate": 0})
        assert httpx.get(f"{served.url}/vmrest/users", auth=("admin", "admin")).status_code == 401
        assert httpx.get(f"{served.url}/vmrest/users", auth=("ops", "s3cret")).status_code == 200


def test_it_stops_by_itself_and_on_interrupt() -> None:
    with emulator_process(lifetime=1) as served:
        assert served.process.wait(timeout=15) == 0
    with emulator_process() as served:
        # Once it answers, it is serving (its signal handlers are in place), not starting.
        assert httpx.get(f"{served.url}/emulator/stats", timeout=10).status_code == 200
        served.process.send_signal(signal.SIGINT)
        assert served.process.wait(timeout=15) == 130  # the spec's code for "interrupted"
        assert served.process.stderr is not None
        assert "Traceback" not in served.process.stderr.read()


@pytest.mark.parametrize(
    ("seed_text", "message"),
    [
        ("users:\n  - alias: a\n    colour: red\n", "users[0]: unknown key(s) colour"),
        (
            "users:\n  - alias: a\nsmtp_proxy_addresses:\n  - {address: x@y.z, user: b}\n",
            "smtp_proxy_addresses[0]: user 'b' is not among the seed's users",
        ),
        ("users:\n  - alias: a\n  - alias: A\n", "users[1]: alias 'A' appears twice"),
        ("users: [\n", "is not valid YAML"),
        ("- just\n- a list\n", "a seed must be a mapping"),
    ],
)
def test_a_bad_seed_is_one_clear_error(tmp_path: Path, seed_text: str, message: str) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(seed_text)
    result = run_cli("emulator", "serve", "--port", "0", "--seed", str(seed), timeout=30)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stderr.startswith("cupiform: error: ")
    assert "Traceback" not in result.stderr


def test_a_busy_port_is_one_clear_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = run_cli("emulator", "serve", "--port", str(port), timeout=30)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-rate", "1.5"], "--fail-rate must be between 0 and 1"),
        (["--ca-out", "x.pem"], "--ca-out needs --tls"),
        (["--port", "notanumber"], "Invalid value for '--port'"),
    ],
)
def test_bad_flags_exit_1(args: list[str], message: str) -> None:
    result = run_cli("emulator", "serve", *args, timeout=30)
    assert result.returncode == 1
    assert message in result.stderr
