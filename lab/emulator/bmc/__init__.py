"""An emulated node's Redfish BMC: OpenStack sushy-tools (fake driver) fed by the node's model."""
