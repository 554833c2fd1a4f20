"""Dispatch shards locally or to Slurm via submitit; resume; merge (issue 4 §4, §6).

A *job* is one width and the list of its unfinished chunks: the model (frozen state) and the
prefix cache are built once per job and shared by its shards.  The same `run_job` function runs
in-process (`local`) or on a cluster node (`submitit`, any `AutoExecutor` cluster: `slurm`,
`local`, `debug`).  Finished shards are skipped, so re-running a killed sweep resumes it.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from . import engine, models, probes, results
from .spec import SpecError, SweepSpec, from_dict


@dataclass(frozen=True)
class Job:
    width: int
    chunks: tuple[int, ...]


@dataclass
class SubmititOptions:
    """Cluster options for `--executor submitit` (names follow submitit's AutoExecutor)."""
    cluster: str | None = None           # None: slurm when available, else local
    partition: str | None = None
    gpus_per_node: int = 0
    cpus_per_task: int = 2
    timeout_min: int = 60
    extra: dict[str, Any] = field(default_factory=dict)


def plan(spec: SweepSpec, out: Path) -> list[Job]:
    """Jobs for the shards not yet finished under `out`."""
    jobs = []
    for n in spec.widths:
        todo = tuple(c for c in range(len(spec.chunks(n)))
                     if not results.shard_done(out, results.shard_name(n, c)))
        if todo:
            jobs.append(Job(n, todo))
    return jobs


def run_job(spec_dict: dict[str, Any], out: str, job: Job, device: str,
            progress: bool = False) -> dict[str, Any]:
    """Train and write every pending shard of one width (picklable: runs on cluster nodes)."""
    spec = from_dict(spec_dict)
    from . import coord_sweep
    if coord_sweep.is_factory_model(spec):          # a plain factory(width) -> nn.Module
        return coord_sweep.run_job(spec, out, job, device)
    dev, dtype = models.pick_device(device), models.pick_dtype(spec.dtype)
    model = models.build(spec, job.width, dev, dtype)
    cache = engine.PrefixCache()
    chunks = spec.chunks(job.width)
    bar = tqdm(total=len(job.chunks) * spec.steps, desc=f"n={job.width}", leave=False,
               disable=not progress)
    for c in job.chunks:
        res = engine.train_shard(model, spec, chunks[c], dev, dtype, cache=cache,
                                 on_step=bar.update if progress else None)
        results.write_shard(Path(out), results.shard_name(job.width, c), res, spec.model)
    bar.close()
    return {"width": job.width, "data_sources": model.data_sources(), "device": str(dev)}


def _field_defaults() -> dict[str, Any]:
    """Defaults of the result-changing spec fields added later (a spec.json written before
    them means their defaults)."""
    return {f.name: f.default for f in dataclasses.fields(SweepSpec)
            if f.name in ("probe_every",)}


def _check_spec_dir(spec: SweepSpec, out: Path) -> None:
    """Resume only with the same spec (sweep-defining fields; `device` and the other
    performance knobs of `SweepSpec.PERF_FIELDS` may differ)."""
    p = out / "spec.json"
    skip = set(SweepSpec.PERF_FIELDS)
    mine = {k: v for k, v in json.loads(json.dumps(spec.to_dict())).items() if k not in skip}
    if p.exists():
        old = {k: v for k, v in (_field_defaults() | json.loads(p.read_text())).items()
               if k not in skip}
        if old != mine:
            diff = sorted(k for k in set(old) | set(mine) if old.get(k) != mine.get(k))
            raise SpecError(f"spec field '{diff[0]}': differs from the sweep already in {out}")
    else:
        out.mkdir(parents=True, exist_ok=True)
        (out / "probes.json").write_text(json.dumps(list(probes.QUANTITIES)))   # before spec.json
        p.write_text(json.dumps(spec.to_dict(), indent=2))


def _check_probes(out: Path) -> None:
    """Extend a sweep only with the probe set it was measured with (a finished sweep of an
    older gammakit stays readable: it lacks the newer quantities, nothing is mixed)."""
    q = out / "probes.json"
    if not q.exists() or json.loads(q.read_text()) != list(probes.QUANTITIES):
        raise SpecError(f"probed quantities: differs from the sweep already in {out} (an older "
                        "gammakit began it); remove it or choose another --out")


def _submitit(jobs: list[Job], spec: SweepSpec, out: Path, device: str,
              opts: SubmititOptions) -> list[dict[str, Any]]:
    import submitit
    ex = submitit.AutoExecutor(folder=str(out / "submitit"), cluster=opts.cluster)
    params: dict[str, Any] = {"timeout_min": opts.timeout_min, "cpus_per_task": opts.cpus_per_task,
                              "name": f"width-sweep-{spec.name}"}
    if ex.cluster == "slurm":
        params["gpus_per_node"] = opts.gpus_per_node
        if opts.partition:
            params["slurm_partition"] = opts.partition
    ex.update_parameters(**params, **opts.extra)
    d = spec.to_dict()
    handles = ex.map_array(run_job, [d] * len(jobs), [str(out)] * len(jobs), jobs,
                           [device] * len(jobs))
    infos = []
    for h in tqdm(handles, desc="jobs", unit="job"):
        infos.append(h.result())
    return infos


def _previous_sources(out: Path) -> dict[str, Any]:
    p = out / "provenance.json"
    return json.loads(p.read_text()).get("data_sources", {}) if p.exists() else {}


def run_sweep(spec: SweepSpec, out: str | Path, *, executor: str = "local",
              device: str | None = None, submitit_options: SubmititOptions | None = None,
              progress: bool = True) -> tuple[Any, Any]:
    """Run the unfinished shards of `spec` into `out`, then merge; returns (steps, runs)."""
    out = Path(out)
    device = device or spec.device
    _check_spec_dir(spec, out)
    jobs = plan(spec, out)
    if jobs:
        _check_probes(out)
    if executor == "local":
        infos = [run_job(spec.to_dict(), str(out), j, device, progress)
                 for j in tqdm(jobs, desc="widths", unit="width", disable=not progress)]
    elif executor == "submitit":
        infos = _submitit(jobs, spec, out, device, submitit_options or SubmititOptions())
    else:
        raise SpecError(f"option '--executor': {executor!r} is not local or submitit")
    sources = _previous_sources(out) | {str(i["width"]): i["data_sources"] for i in infos}
    devices = sorted({i["device"] for i in infos}) or [str(models.pick_device(device))]
    results.write_provenance(out, spec.to_dict(), ",".join(devices), sources,
                             {"executor": executor})
    return results.merge(out)
