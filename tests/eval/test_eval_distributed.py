"""Sharded evaluation under torchrun-style processes gives one process's numbers."""

import os
import socket

import pytest
import torch.multiprocessing as mp

import vggzoo
from vggzoo.eval.distributed import finish


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, data: str, weights: str, queue) -> None:
    # What torchrun sets; vggzoo.evaluate initialises the gloo group itself.
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
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
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, 2, port, str(image_folder), str(checkpoint), queue))
             for r in range(2)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    for rank in (0, 1):
        got = results[rank]
        assert got["processes"] == 2
        for key in ("images", "top1_err", "top5_err", "macs_per_image", "skipped"):
            assert got[key] == single[key], key
