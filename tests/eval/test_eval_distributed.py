"""Sharded evaluation under torchrun-style processes gives one process's numbers."""

import os
from datetime import timedelta

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

import vggzoo
from vggzoo.eval.distributed import finish


def _worker(rank: int, world_size: int, port: int, data: str, weights: str, queue) -> None:
    # What torchrun sets, its agent's store included; vggzoo.evaluate
    # initialises the gloo group itself.
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                      TORCHELASTIC_USE_AGENT_STORE="True")
    import torch

    torch.set_num_threads(1)
    result = vggzoo.evaluate(data=data, weights=weights, protocol="dense", scales=[224, 256])
    queue.put((rank, result.as_dict()))
    finish()


@pytest.mark.slow
def test_two_gloo_processes_give_exactly_the_single_process_numbers(image_folder, checkpoint):
    (image_folder / "val" / "cat" / "bad.png").write_bytes(b"not a png")
    single = vggzoo.evaluate(data=image_folder, weights=checkpoint, protocol="dense",
                             scales=[224, 256]).as_dict()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    # As torchrun's agent does, this process hosts the rendezvous store on a
    # port the OS picks and that stays bound (a port found free and released
    # could be taken before rank 0 bound it), and the store outlives both ranks.
    store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False,
                          timeout=timedelta(seconds=120))
    procs = [ctx.Process(target=_worker, args=(r, 2, store.port, str(image_folder),
                                               str(checkpoint), queue))
             for r in range(2)]
    for p in procs:
        p.start()
    try:
        results = dict(queue.get(timeout=240) for _ in procs)
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=10)
        del store
    for rank in (0, 1):
        got = results[rank]
        assert got["processes"] == 2
        for key in ("images", "top1_err", "top5_err", "macs_per_image", "skipped"):
            assert got[key] == single[key], key
