"""The stacks the chaos scenarios apply: SSH keys, templates and a counted group of cheap instances,
and optionally a volume with a counted group of instances that mount it (they must share its machine)."""

from __future__ import annotations

from dataclasses import dataclass

# Fake public keys (valid shape, no private half anywhere): the chaos stacks' only key material.
_KEY_BODY = "AAAAC3NzaC1lZDI1NTE5AAAAI"
_IMAGES = ("pytorch/pytorch", "vllm/vllm-openai", "nvidia/cuda", "tensorflow/tensorflow", "ubuntu")


@dataclass(frozen=True)
class ChaosStack:
    """``keys`` SSH keys, ``templates`` templates and ``instances`` instances (one group, ``count``);
    with ``volume_gb``, a volume ``data`` and ``mounts`` instances ``s[i]`` that mount it."""

    name: str = "chaos"
    keys: int = 2
    templates: int = 3
    instances: int = 15
    readiness_timeout: str = "20s"
    volume_gb: int = 0
    mounts: int = 0

    @property
    def size(self) -> int:
        return self.keys + self.templates + self.instances + (1 + self.mounts if self.volume_gb else 0)

    def key_text(self, index: int) -> str:
        pad = f"Chaos{self.name.replace('-', '')}Key{index}ForTestsOnly".ljust(43, "0")[:43]
        return f"ssh-ed25519 {_KEY_BODY}{pad} k{index}@{self.name}"

    def key_texts(self) -> dict[str, str]:
        """Address -> key text, as the stack declares them."""
        return {f"ssh_keys.k{i}": self.key_text(i) for i in range(self.keys)}

    def addresses(self) -> list[str]:
        keys = [f"ssh_keys.k{i}" for i in range(self.keys)]
        templates = [f"templates.t{i}" for i in range(self.templates)]
        instances = [f"instances.w[{i}]" for i in range(self.instances)]
        if not self.volume_gb:
            return keys + templates + instances
        return keys + templates + ["volumes.data"] + instances + [f"instances.s[{i}]" for i in range(self.mounts)]

    def yaml(self) -> str:
        lines = ["version: 1", f"stack: {self.name}", "ssh_keys:"]
        lines += [f'  k{i}: {{public_key: "{self.key_text(i)}"}}' for i in range(self.keys)] or ["  {}"]
        lines.append("templates:")
        lines += [f"  t{i}: {{image: {_IMAGES[i % len(_IMAGES)]}, tag: latest, disk_gb: 10, env: {{SLOT: '{i}'}}}}"
                  for i in range(self.templates)] or ["  {}"]
        lines.append("instances:")
        if self.instances:
            template = "    template: t0" if self.templates else "    image: pytorch/pytorch"
            keys = ", ".join(f"k{i}" for i in range(self.keys))
            lines += ["  w:", f"    count: {self.instances}", template,
                      f"    ssh_keys: [{keys}]" if self.keys else "    ssh_keys: []",
                      "    offer: {num_gpus: 1, dph_total: {lte: 1.0}, order: price}",
                      "    disk_gb: 10",
                      f"    readiness: {{timeout: {self.readiness_timeout}}}"]
        else:
            lines.append("  {}")
        if self.volume_gb:
            lines[lines.index("instances:"):lines.index("instances:")] = [
                "volumes:", f"  data: {{size_gb: {self.volume_gb}}}"]
            lines += ["  s:", f"    count: {self.mounts}", "    image: ubuntu", "    tag: '22.04'",
                      "    volumes: [{volume: data, mount: /data}]",
                      "    offer: {num_gpus: 1, dph_total: {lte: 1.0}, order: price}",
                      f"    readiness: {{timeout: {self.readiness_timeout}}}"]
        return "\n".join(lines) + "\n"


FULL = ChaosStack()  # 2 keys + 3 templates + 15 instances = 20 resources
SMALL = ChaosStack(keys=1, templates=1, instances=4)  # 6 resources
# A volume, 6 unconstrained workers and 3 instances that must share the volume's machine: 13 resources
VOLUME = ChaosStack(name="chaos-vol", keys=1, templates=1, instances=6, volume_gb=50, mounts=3)
SMALL_VOLUME = ChaosStack(name="chaos-vol", keys=1, templates=0, instances=2, volume_gb=20, mounts=2)
