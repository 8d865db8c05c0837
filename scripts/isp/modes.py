"""Test modes, from config/modes (one row each, "|"-separated): the file
scripts/lib.sh reads too."""
import os
from dataclasses import dataclass

from . import ROOT

TABLE = os.path.join(ROOT, "config", "modes")


@dataclass(frozen=True)
class Mode:
    name: str
    runner: str         # scripts/RUNNER boots it ...
    arg: str            # ... given this argument
    platform: str
    test_timeout: int
    params: str         # kernel parameters

    @property
    def title(self):
        return f"{self.platform}; {self.params}"


class UnknownMode(ValueError):
    pass


def load(path=TABLE):
    """Modes by name, in the table's order."""
    modes = {}
    with open(path) as f:
        lines = f.readlines()
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        name, runner, arg, platform, timeout, params = (f.strip() for f in line.split("|"))
        modes[name] = Mode(name, runner, arg, platform, int(timeout), params)
    return modes


def get(name, modes=None):
    modes = load() if modes is None else modes
    if name not in modes:
        raise UnknownMode(f"unknown test mode '{name}' (known: {' '.join(modes)}; config/modes)")
    return modes[name]


def of_runner(runner, modes=None):
    modes = load() if modes is None else modes
    return [m for m in modes if modes[m].runner == runner]
