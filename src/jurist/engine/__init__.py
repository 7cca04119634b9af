"""Engines that schedule a grading job: the asyncio runner (`jurist.engine.local`, one process)
and the Ray engine (a pool of workers on a Ray cluster). Ray is imported only when used."""

from jurist.engine.ray import RayEngine, RayOptions, WorkerSpec

__all__ = ["RayEngine", "RayOptions", "WorkerSpec"]
