"""The simulated card: memory shared by every process on the node."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaudi3_scale.device import DeviceOutOfMemory, open_device
from gaudi3_scale.device.sim import SimDevice, SimOutOfMemoryError

GiB = 1024**3


def test_allocations_add_up_and_free(tmp_path):
    card = SimDevice(tmp_path, 10 * GiB)
    a = card.allocate(4 * GiB)
    b = card.allocate(5 * GiB)
    assert card.used_bytes() == 9 * GiB
    with pytest.raises(SimOutOfMemoryError) as err:
        card.allocate(2 * GiB)
    assert isinstance(err.value, DeviceOutOfMemory) and err.value.free == 1 * GiB
    card.free(a)
    card.free(a)  # idempotent
    assert card.used_bytes() == 5 * GiB
    card.allocate(2 * GiB)
    card.free(b)
    assert card.used_bytes() == 2 * GiB


def test_another_process_takes_memory_and_dies_holding_it(tmp_path):
    env = dict(os.environ, GAUDI3_SIM_DIR=str(tmp_path), GAUDI3_SIM_CAPACITY_BYTES=str(10 * GiB))
    code = ("import sys,time;from gaudi3_scale.device import open_device;"
            "d=open_device('sim');d.allocate(8*1024**3);print('held',flush=True);time.sleep(120)")
    other = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        card = SimDevice(tmp_path, 10 * GiB)
        assert card.used_bytes() == 8 * GiB
        with pytest.raises(DeviceOutOfMemory):
            card.allocate(3 * GiB)
    finally:
        other.kill()
        other.wait(30)
    # The kernel dropped the dead owner's lock: its memory is reclaimed.
    assert SimDevice(tmp_path, 10 * GiB).used_bytes() == 0
    assert not list(tmp_path.glob("*.alloc"))


def test_open_device_reads_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GAUDI3_DEVICE", "sim")
    monkeypatch.setenv("GAUDI3_SIM_DIR", str(tmp_path))
    monkeypatch.setenv("GAUDI3_SIM_CAPACITY_BYTES", "1000")
    device = open_device()
    assert device.backend == "sim" and device.total_bytes() == 1000
    with pytest.raises(ValueError, match="unknown device backend"):
        open_device("tpu")


def run_hog(tmp_path, *args, timeout=60):
    env = dict(os.environ, GAUDI3_SIM_DIR=str(tmp_path), GAUDI3_SIM_CAPACITY_BYTES=str(100 * GiB))
    return subprocess.Popen([sys.executable, "-m", "gaudi3_scale.device.hog", "--backend", "sim", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_hog_holds_then_frees(tmp_path):
    hog = run_hog(tmp_path, "--fraction", "0.9", "--hold", "1s")
    out, err = hog.communicate(timeout=60)
    assert hog.returncode == 0, err
    assert "holding 96636764160 of 96636764160 bytes" in out
    assert SimDevice(tmp_path, 100 * GiB).used_bytes() == 0


def test_hog_frees_on_sigterm(tmp_path):
    hog = run_hog(tmp_path, "--fraction", "0.5", "--hold", "10m")
    assert "holding" in hog.stdout.readline()
    card = SimDevice(tmp_path, 100 * GiB)
    assert card.used_bytes() == 50 * GiB
    hog.terminate()
    assert hog.wait(30) == 0
    assert card.used_bytes() == 0


def test_hog_waits_for_memory_a_neighbour_frees(tmp_path):
    card = SimDevice(tmp_path, 100 * GiB)
    neighbour = card.allocate(30 * GiB)
    hog = run_hog(tmp_path, "--fraction", "0.9", "--hold", "1s", "--grab-timeout", "60s")
    # The hog takes what is free at once and waits for the rest.
    deadline = time.monotonic() + 30
    while card.used_bytes() < 95 * GiB and time.monotonic() < deadline:
        time.sleep(0.05)
    card.free(neighbour)
    out, err = hog.communicate(timeout=60)
    assert hog.returncode == 0, err
    assert "holding 96636764160 of 96636764160" in out


def test_hog_rejects_bad_arguments(tmp_path):
    hog = run_hog(tmp_path, "--fraction", "1.5")
    _, err = hog.communicate(timeout=60)
    assert hog.returncode == 2 and "--fraction must be in (0, 1]" in err


def test_selftest_sim_and_skips_without_torch(tmp_path):
    env = dict(os.environ, GAUDI3_SIM_DIR=str(tmp_path))
    ok = subprocess.run([sys.executable, "-m", "gaudi3_scale.device.selftest", "--backend", "sim"],
                        env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    try:
        import torch  # noqa: F401
    except ImportError:
        skipped = subprocess.run([sys.executable, "-m", "gaudi3_scale.device.selftest", "--backend", "cuda"],
                                 capture_output=True, text=True, timeout=60)
        assert skipped.returncode == 77 and "torch is not installed" in skipped.stdout


def test_smi_shows_the_cards_memory_and_its_holders(tmp_path):
    card = SimDevice(tmp_path, 100 * GiB)
    held = card.allocate(25 * GiB)
    env = dict(os.environ, GAUDI3_SIM_DIR=str(tmp_path), GAUDI3_SIM_CAPACITY_BYTES=str(100 * GiB))
    out = subprocess.run([sys.executable, "-m", "gaudi3_scale.device.smi", "--backend", "sim"], env=env,
                         capture_output=True, text=True, timeout=60)
    card.free(held)
    assert out.returncode == 0, out.stderr
    assert "25600MiB /    102400MiB" in out.stdout and f"pid {os.getpid():>8}" in out.stdout


def test_smi_csv_parsing():
    from gaudi3_scale.device.cardmemory import parse_smi_csv

    assert parse_smi_csv("1024, 131072\n") == (1024 * 2**20, 131072 * 2**20)
    assert parse_smi_csv("  512 , 81559\n 0, 81559\n") == (512 * 2**20, 81559 * 2**20)
    with pytest.raises(ValueError):
        parse_smi_csv("No devices were found")


def test_exporter_reports_the_sim_cards_memory(tmp_path):
    from pgserver import free_port
    import urllib.request

    card = SimDevice(tmp_path, 100 * GiB)
    held = card.allocate(40 * GiB)
    port = free_port()
    env = dict(os.environ, GAUDI3_SIM_DIR=str(tmp_path), GAUDI3_SIM_CAPACITY_BYTES=str(100 * GiB), NODE_NAME="n1",
               GAUDI3_EXPORTER_HOST="127.0.0.1", GAUDI3_EXPORTER_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "gaudi3_scale.device.exporter", "--backend", "sim"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, text = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "hpu_memory_used_bytes" not in text:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                    text = resp.read().decode()
            except OSError:
                time.sleep(0.1)
        assert 'hpu_memory_used_bytes{backend="sim",node="n1"} 4.294967296e+10' in text
        assert 'hpu_memory_total_bytes{backend="sim",node="n1"} 1.073741824e+11' in text
    finally:
        proc.terminate()
        proc.wait(30)
        card.free(held)


def test_hl_smi_prints_the_sim_cards_memory_like_habanas_tool(tmp_path):
    from gaudi3_scale.device.cardmemory import parse_smi_csv

    card = SimDevice(tmp_path, 128 * GiB)
    held = card.allocate(32 * GiB)
    env = dict(os.environ, GAUDI3_SIM_DIR=str(tmp_path), GAUDI3_SIM_CAPACITY_BYTES=str(128 * GiB), GAUDI3_DEVICE="sim")
    hl_smi = str(Path(__file__).resolve().parents[2] / "deploy" / "sandbox" / "bin" / "hl-smi")
    try:
        table = subprocess.run([hl_smi], env=env, capture_output=True, text=True, timeout=60)
        csv = subprocess.run([hl_smi, "-Q", "memory.used,memory.total", "-f", "csv,noheader,nounits"], env=env,
                             capture_output=True, text=True, timeout=60)
    finally:
        card.free(held)
    assert table.returncode == 0, table.stderr
    assert "HL-SMI Version:" in table.stdout and "32768MiB / 131072MiB" in table.stdout
    assert f"{os.getpid()}" in table.stdout  # the process holding the memory
    # The CSV the hpu backend's exporter parses from the real hl-smi.
    assert parse_smi_csv(csv.stdout) == (32 * GiB, 128 * GiB)
