"""The registry of resource kinds. Diff, refresh, apply and render look kinds up here."""

from __future__ import annotations

from collections.abc import Mapping

from vastplan.kinds.base import ResourceKind
from vastplan.kinds.instance import InstanceKind
from vastplan.kinds.ssh_key import SshKeyKind
from vastplan.kinds.template import TemplateKind
from vastplan.kinds.volume import VolumeKind

# In dependency order: each kind's prepare() may use what the kinds before it placed.
KINDS: Mapping[str, ResourceKind] = {k.kind: k for k in (SshKeyKind(), TemplateKind(), VolumeKind(), InstanceKind())}
