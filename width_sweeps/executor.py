"""Dispatch shards locally or to Slurm via submitit; resume; merge (docs/width_sweeps.md).

A *job* is one width and the list of its unfinished chunks: the model (frozen state) and the
prefix cache are built once per job and shared by its shards.  The same `run_job` function runs
in-process (`local`) or on a cluster node (`submitit`, any `AutoExecutor` cluster: `slurm`,
`local`, `debug`).  Finished shards are skipped, so re-running a killed sweep resumes it.

Order of a run: plan (device, model options, memory: refused before anything is allocated or
written) → lock the directory → check it against the spec (width_sweeps.sweepdir; spec.json
written only now) → train the missing shards, each recording the spec fingerprint and its
numerics → provenance → merge (every shard checked again) → unlock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from gamma_calc.errors import UserError

from . import engine, files, models, results, sweepdir
from . import plan as planning
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
    """Jobs for the shards not yet finished under `out` (one directory listing)."""
    done = results.finished_shards(Path(out))
    return jobs_for(spec, [n for n in sweepdir.shard_names(spec) if n not in done])


def jobs_for(spec: SweepSpec, todo: list[str]) -> list[Job]:
    """The shards named in `todo` grouped into jobs (one per width, its chunks together)."""
    with planning.no_cycle_collection():
        return _group(spec, todo)


def _group(spec: SweepSpec, todo: list[str]) -> list[Job]:
    left = set(todo)
    jobs, k = [], spec.n_chunks()
    for n in spec.widths:
        chunks = tuple(c for c in range(k) if results.shard_name(n, c) in left)
        if chunks:
            jobs.append(Job(n, chunks))
    return jobs


def run_job(spec_dict: dict[str, Any], out: str, job: Job, device: str,
            progress: bool = False, expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train and write every pending shard of one width (picklable: runs on cluster nodes).

    `expect`: the numerics of the shards already in `out` (None: none yet); a node whose
    numerics differ refuses before training."""
    spec = from_dict(spec_dict)
    from . import coord_sweep
    if coord_sweep.is_factory_model(spec):          # a plain factory(width) -> nn.Module
        return coord_sweep.run_job(spec, out, job, device, expect)
    dev, dtype = models.pick_device(device), models.pick_dtype(spec.dtype)
    num = models.numerics(spec, dev)
    if expect is not None and num != expect:
        diff = ", ".join(f"{k}={expect.get(k)!r} (here {num.get(k)!r})"
                         for k in sorted(set(num) | set(expect)) if num.get(k) != expect.get(k))
        raise UserError(f"{out}: its shards were computed with other numerics: {diff}; values "
                        "would differ at rounding level (docs/width_sweeps.md, Determinism)")
    model = models.build(spec, job.width, dev, dtype)
    cache = engine.PrefixCache()
    chunks = spec.chunks(job.width)
    meta = {"fingerprint": spec.fingerprint(), "numerics": num, "spec": spec.name}
    bar = tqdm(total=len(job.chunks) * spec.steps, desc=f"n={job.width}", leave=False,
               disable=not progress)
    for c in job.chunks:
        res = engine.train_shard(model, spec, chunks[c], dev, dtype, cache=cache,
                                 on_step=bar.update if progress else None)
        results.write_shard(Path(out), results.shard_name(job.width, c), res, spec.model, meta)
    bar.close()
    return {"width": job.width, "data_sources": model.data_sources(), "device": str(dev),
            "numerics": num}


def _submitit(jobs: list[Job], spec: SweepSpec, out: Path, device: str,
              opts: SubmititOptions, expect: dict[str, Any] | None) -> list[dict[str, Any]]:
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
                           [device] * len(jobs), [False] * len(jobs), [expect] * len(jobs))
    infos = []
    for h in tqdm(handles, desc="jobs", unit="job"):
        infos.append(h.result())
    return infos


def _previous_sources(out: Path) -> dict[str, Any]:
    p = out / "provenance.json"
    if not p.exists():
        return {}
    prov = files.read_json(p, "the sweep's provenance (JSON)")
    return prov.get("data_sources", {}) if isinstance(prov, dict) else {}


def _existing_numerics(out: Path) -> dict[str, Any] | None:
    for name in sorted(results.finished_shards(out))[:1]:
        return results.shard_meta(out, name).get("numerics")
    return None


def run_sweep(spec: SweepSpec, out: str | Path, *, executor: str = "local",
              device: str | None = None, submitit_options: SubmititOptions | None = None,
              progress: bool = True, device_label: str = "spec field 'device'",
              ) -> tuple[Any, Any]:
    """Run the unfinished shards of `spec` into `out`, then merge; returns (steps, runs)."""
    out = Path(out)
    if executor not in ("local", "submitit"):
        raise SpecError(f"option '--executor': {executor!r} is not local or submitit")
    device = spec.device if device is None else device
    pl = planning.make_plan(spec, device, device_label)
    planning.check(pl)
    local = executor == "local"
    with sweepdir.locked(out):
        todo = sweepdir.prepare(spec, out, pl.numerics if local else None)
        jobs = jobs_for(spec, todo)
        expect = _existing_numerics(out) if jobs else None
        if local:
            infos = [run_job(spec.to_dict(), str(out), j, device, progress, expect)
                     for j in tqdm(jobs, desc="widths", unit="width", disable=not progress)]
        else:
            infos = _submitit(jobs, spec, out, device, submitit_options or SubmititOptions(),
                              expect)
        sources = _previous_sources(out) | {str(i["width"]): i["data_sources"] for i in infos}
        devices = sorted({i["device"] for i in infos}) or [str(pl.device)]
        nums = [i["numerics"] for i in infos] or [expect or pl.numerics]
        results.write_provenance(out, spec.to_dict(), ",".join(devices), sources,
                                 {"executor": executor, "fingerprint": spec.fingerprint(),
                                  "numerics": nums[0]})
        return results.merge(out, spec.fingerprint(), legacy_ok=True)
