"""The registry of resource kinds. Diff, refresh, apply and render look kinds up here."""

from __future__ import annotations

from collections.abc import Mapping

from vastplan.resources.base import ResourceKind
from vastplan.resources.instance import InstanceKind
from vastplan.resources.ssh_key import SshKeyKind
from vastplan.resources.template import TemplateKind
from vastplan.resources.volume import VolumeKind

# In dependency order: each kind's prepare() may use what the kinds before it placed.
KINDS: Mapping[str, ResourceKind] = {k.kind: k for k in (SshKeyKind(), TemplateKind(), VolumeKind(), InstanceKind())}
