from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local Ray cluster on 127.0.0.1 (2 CPUs, no dashboard, small object store), shut
    down after the module; yields its address for drivers in other processes."""
    ray = pytest.importorskip("ray", reason="the Ray engine needs jurist[ray]")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=80 * 1024**2,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
