"""A data-parallel PyTorch trainer that keeps the resumable protocol (docs/trainer-protocol.md, "From PyTorch").

An MLP on a seeded synthetic dataset (no downloads), DistributedDataParallel over gloo on CPU.
The data order is the global batch's: step s of epoch e takes the same examples whatever the
world size, each rank its contiguous slice, so a resumed run sees what an uninterrupted one saw.
Settings: RESUMABLE_CONFIG (JSON) or --config FILE; unknown fields are refused.

  /usr/bin/python3 examples/pytorch/train_ddp.py --config run.json
"""

import json
import os
import sys
import time

# The helper module sits beside this script; an image's code directory may be read-only.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import resumable_protocol as rp  # noqa: E402
import torch  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

DEFAULTS = {"totalSteps": 200, "batchSize": 32, "learningRate": 0.01, "seed": 7, "hiddenUnits": 32, "features": 32,
            "classes": 4, "examples": 1024, "checkpoint": {"everySteps": 50, "keep": 3}, "stepDelayMs": 0}

INT, NUMBER = int, (int, float)
LIMITS = {"totalSteps": (INT, 1), "batchSize": (INT, 1), "learningRate": (NUMBER, 0), "seed": (INT, 0), "hiddenUnits": (INT, 1),
          "features": (INT, 1), "classes": (INT, 2), "examples": (INT, 1), "checkpoint.everySteps": (INT, 0),
          "checkpoint.keep": (INT, 1), "stepDelayMs": (NUMBER, 0)}


def load_config(argv, env):
    try:
        if "--config" in argv:
            with open(argv[argv.index("--config") + 1]) as f:
                given = json.load(f)
        else:
            given = json.loads(env.get("RESUMABLE_CONFIG") or "{}")
    except (OSError, ValueError, IndexError) as err:
        raise rp.ProtocolExit(rp.EXIT["config"], f"cannot read the config: {err}", "config") from err
    if not isinstance(given, dict) or not isinstance(given.get("checkpoint", {}), dict):
        raise rp.ProtocolExit(rp.EXIT["config"], "invalid config: expected a JSON object (checkpoint: an object)", "config")
    problems = [f"{key}: unknown field" for key in given if key not in DEFAULTS]
    problems += [f"checkpoint.{key}: unknown field" for key in given.get("checkpoint", {}) if key not in DEFAULTS["checkpoint"]]
    config = {**DEFAULTS, **given, "checkpoint": {**DEFAULTS["checkpoint"], **given.get("checkpoint", {})}}
    fields = {**{k: config[k] for k in config if k != "checkpoint"}, **{f"checkpoint.{k}": v for k, v in config["checkpoint"].items()}}
    for key, (kind, minimum) in LIMITS.items():
        value = fields.get(key)
        if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
            problems.append(f"{key}: expected {'an integer' if kind is int else 'a number'} >= {minimum}, got {json.dumps(value)}")
    if not problems and config["examples"] < config["batchSize"]:
        problems.append(f"examples: {config['examples']} is less than one batch of {config['batchSize']}")
    if problems:
        raise rp.ProtocolExit(rp.EXIT["config"], "invalid config: " + "; ".join(problems), "config")
    return config


def dataset(config):
    """Class prototypes plus noise, from the seed alone: every rank and every attempt builds the same."""
    g = torch.Generator().manual_seed(config["seed"])
    prototypes = torch.randn(config["classes"], config["features"], generator=g) * 2
    labels = torch.randint(0, config["classes"], (config["examples"],), generator=g)
    return prototypes[labels] + torch.randn(config["examples"], config["features"], generator=g), labels


def global_batch(config, step):
    """The example indices of step `step` (0-based): a per-epoch permutation seeded by (seed, epoch)."""
    per_epoch = config["examples"] // config["batchSize"]
    epoch, position = divmod(step, per_epoch)
    order = torch.randperm(config["examples"], generator=torch.Generator().manual_seed(config["seed"] * 1_000_003 + epoch))
    return epoch, order[position * config["batchSize"]:(position + 1) * config["batchSize"]]


def train(gang):
    config = load_config(sys.argv[1:], os.environ)
    if config["batchSize"] % gang.world_size:
        raise rp.ProtocolExit(rp.EXIT["config"], f"batchSize {config['batchSize']} does not split over {gang.world_size} ranks", "config")
    torch.manual_seed(config["seed"])
    model = torch.nn.Sequential(torch.nn.Linear(config["features"], config["hiddenUnits"]), torch.nn.ReLU(),
                                torch.nn.Linear(config["hiddenUnits"], config["classes"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=config["learningRate"])
    start = gang.restore(model, optimizer, config["totalSteps"], config["checkpoint"]["everySteps"], config["checkpoint"]["keep"])
    net = DistributedDataParallel(model) if gang.world_size > 1 else model
    inputs, labels = dataset(config)
    share = config["batchSize"] // gang.world_size
    for step in range(start, config["totalSteps"]):
        time.sleep(config["stepDelayMs"] / 1000)
        epoch, batch = global_batch(config, step)
        mine = batch[gang.rank * share:(gang.rank + 1) * share]
        optimizer.zero_grad()
        # Each rank's mean over its slice; DDP averages the gradients, so the update is the global batch's.
        loss = torch.nn.functional.cross_entropy(net(inputs[mine]), labels[mine])
        loss.backward()
        optimizer.step()
        gang.step_done(step + 1, loss.item(), epoch)


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # one thread: a fixed summation order, and a fair share of a small node
    rp.run(train)


if __name__ == "__main__":
    main()
