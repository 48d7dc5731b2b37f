"""The registry of resource kinds. Everything outside this package learns about kinds here, and
only here: a new kind is its module plus one entry in ``KINDS``."""

from __future__ import annotations

from collections.abc import Mapping

from vastplan.kinds.base import ResourceKind
from vastplan.kinds.endpoint import EndpointKind
from vastplan.kinds.instance import InstanceKind
from vastplan.kinds.network_volume import NetworkVolumeKind
from vastplan.kinds.secret import SecretKind
from vastplan.kinds.ssh_key import SshKeyKind
from vastplan.kinds.template import TemplateKind
from vastplan.kinds.volume import VolumeKind
from vastplan.kinds.webhook import WebhookKind
from vastplan.kinds.workergroup import WorkergroupKind

# In dependency order: each kind's prepare() may use what the kinds before it placed, and the stack's
# collections are resolved (and listed in messages) in this order.
KINDS: Mapping[str, ResourceKind] = {k.kind: k for k in (
    SshKeyKind(), SecretKind(), TemplateKind(), VolumeKind(),
    NetworkVolumeKind(),
    InstanceKind(),
    EndpointKind(), WorkergroupKind(),
    WebhookKind(),
)}
# The stack file's top-level collection -> the kind it holds (``instances`` -> the instance kind).
BY_COLLECTION: Mapping[str, ResourceKind] = {k.collection: k for k in KINDS.values()}

# The collection -> kind name map state reading checks addresses against (state knows no kind itself).
COLLECTION_KINDS: Mapping[str, str] = {k.collection: k.kind for k in KINDS.values()}
