# open(lock=URI): the lock lives in a lock service (here a real redis-server
# started on 127.0.0.1 for the test), not in the dataset's lock file.
import shutil
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import serialake


@pytest.fixture
def redis_uri(tmp_path):
    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("redis-server is not installed (scripts/deps --test)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path), "--daemonize", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:  # bounded: answers PING after ~0.03 s
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/pytest-lock"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_redis_lock_excludes_a_second_writer(path, redis_uri):
    # Kills: lock= ignored (the second process would get in), or a backend
    # made per call (a second open in this process would be refused).
    with serialake.open(path, create=True, lock=redis_uri) as ds:
        ds.create_tensor("t", dtype="uint8")
        assert serialake.open(path, lock=redis_uri).path == ds.path  # the same dataset
        other = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import sys, serialake
            try:
                serialake.open({path!r}, lock={redis_uri!r})
            except serialake.LockedError as e:
                print(e.code)
            """)], capture_output=True, text=True, timeout=60)
        assert other.stdout.strip() == "locked", other.stderr
    other = subprocess.run([sys.executable, "-c", f"import serialake; serialake.open({path!r}, lock={redis_uri!r}).close()"],
                           capture_output=True, text=True, timeout=60)
    assert other.returncode == 0, other.stderr
