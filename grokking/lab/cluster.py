"""Sweeps on a Ray cluster (`grokking sweep --ray ADDRESS`): the address checked and reached
before Ray is imported, then every batch as a Ray task, retried when its worker dies. Ray is an
extra (pip install '.[cluster]'); nothing else in the package imports it."""
from __future__ import annotations

import re

from grokking.training.grid import SweepError

RAY_INSTALL = "Ray is not installed: pip install '.[cluster]' (or pip install 'ray>=2.9'), then run this again"


def _ray_running() -> bool:
    """This process already joined a Ray instance (then --ray's address is not used)."""
    import sys
    return "ray" in sys.modules and sys.modules["ray"] is not None and sys.modules["ray"].is_initialized()


def import_ray():
    try:
        import ray
    except ImportError:
        raise SweepError(RAY_INSTALL) from None
    return ray


RAY_FORMS = ("auto (the cluster this node belongs to), local (start one here), HOST:PORT (a cluster's head, "
             "e.g. 10.0.0.5:6379) or ray://HOST[:PORT] (Ray Client, port 10001 by default)")
_RAY_ADDRESS = re.compile(r"(ray://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?")
RAY_CONNECT_TIMEOUT = 5.0          # seconds to reach the address before Ray is asked to connect


def ray_address(address: str) -> tuple[str, int, bool] | None:
    """(host, port, Ray Client?) of a --ray address, None for auto and local; SweepError for
    anything else, before Ray is imported."""
    if address in ("auto", "local"):
        return None
    m = _RAY_ADDRESS.fullmatch(address or "")
    if m is None:
        raise SweepError(f"--ray {address!r} is not a Ray address; pass {RAY_FORMS}")
    client = bool(m[1])
    port = int(m[3]) if m[3] else (10001 if client else None)
    if port is None:
        raise SweepError(f"--ray {address}: give the head's port, e.g. --ray {address}:6379 (what 'ray start --head' "
                         f"prints), or --ray ray://{address}:10001 for Ray Client")
    if not 1 <= port <= 65535:
        raise SweepError(f"--ray {address}: port {port} is not between 1 and 65535; pass {RAY_FORMS}")
    return m[2].strip("[]"), port, client


def reach_ray(address: str) -> tuple[str, int, bool] | None:
    """ray_address, and the address reached within RAY_CONNECT_TIMEOUT (a TCP connection), with
    Ray Client's extra present for ray://: checked before Ray (or torch) is imported."""
    where = ray_address(address)
    if where is None:
        return None
    import importlib.util
    import socket
    host, port, client = where
    if client and importlib.util.find_spec("grpc") is None:
        raise SweepError(f"--ray {address}: a ray:// address uses Ray Client, which needs its extra: "
                         f"pip install 'ray[client]' (or, on a node of the cluster, pass --ray auto)")
    try:
        socket.create_connection((host, port), timeout=RAY_CONNECT_TIMEOUT).close()
    except OSError as e:
        raise SweepError(f"--ray {address}: cannot reach {host}:{port} ({e.strerror or e or 'timed out'}, "
                         f"{RAY_CONNECT_TIMEOUT:g} s); start the cluster there ('ray start --head'), check the "
                         f"address, or pass --ray local") from None
    return where


def connect_ray(address: str):
    """The Ray module, connected: the instance this process already runs, else `address`
    ('auto': the cluster on this node; 'local': start one here). The address is checked and
    reached (within RAY_CONNECT_TIMEOUT) before Ray tries: Ray itself retries an unreachable
    address for minutes, printing warnings."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    where = reach_ray(address)
    if where is not None:
        host, port, client = where
        address = f"ray://{host}:{port}" if client else f"{host}:{port}"
    try:
        ray.init(address=None if address == "local" else address, log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise SweepError(f"--ray {address}: cannot connect ({first}); start a cluster with 'ray start --head', "
                         "or pass --ray local") from None
    return ray


def run_ray(run_batch, specs: list[dict], address: str, gpus: float, progress, record,
            retries: int = 3) -> list[str]:
    """Every batch as a Ray task running run_batch(spec) (num_cpus = its threads, num_gpus for GPU
    batches), retried when its worker dies: the retry resumes each point from its last committed
    checkpoint."""
    ray = connect_ray(address)
    task = ray.remote(run_batch)
    refs = {}
    for s in specs:
        opts = {"num_cpus": s["threads"], "max_retries": retries, "retry_exceptions": False}
        if s["device"] != "cpu":
            opts["num_gpus"] = gpus
        refs[task.options(**opts).remote(s)] = s
    failed, pending = [], list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
        for ref in done:
            try:
                record(ray.get(ref))
            except Exception as e:      # RayTaskError wraps the worker's exception; crashes past retries
                cause = getattr(e, "cause", None) or e
                first = str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
                failed.append(f"{', '.join(p['name'] for p in refs[ref]['points'])}: {first}")
        progress.update({p["name"] for r in pending for p in refs[r]["points"]})
    return failed
