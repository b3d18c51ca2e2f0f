"""Emulator constants and the figures used where the catalog has none.

Catalog entries carry provenance; Sapeon's figures are unknown (``null``) because no
public datasheet gives them. The emulator still needs numbers, so it uses the ones below
and records, in the node spec, which figures are **synthetic** (``synthetic_figures``).
Reports must never present these as facts about the product.
"""

from __future__ import annotations

# Figures used when a catalog value is null. SYNTHETIC: invented for emulation only.
SYNTHETIC_FIGURES: dict[str, float] = {
    "int8_tops": 200.0,
    "fp16_tflops": 50.0,
    "memory_gib": 32.0,
    "memory_bandwidth_gbps": 512.0,
    "tdp_watts": 150.0,
}
SYNTHETIC_PCIE = (4, 16)  # generation, width when the catalog has no link

# Thermal model (emulated seconds, °C, W). Chosen so a healthy card at full load settles
# at ambient + FULL_LOAD_RISE, well under the slowdown temperature.
FULL_LOAD_RISE_CELSIUS = 45.0
THERMAL_TIME_CONSTANT_S = 60.0
SLOWDOWN_CELSIUS = 85.0
SHUTDOWN_CELSIUS = 95.0
THROTTLE_CLOCK_FRACTION = 0.6  # clocks (and so throughput) while thermally throttled

IDLE_POWER_FRACTION = 0.15  # idle power as a fraction of TDP
IDLE_POWER_WATTS = {"rngd": 40.0}
"""Measured idle power where the field recorded one (RNGD ≈ 40 W: the K-Cloud team's runs,
shared/reference/field-2026.md; FuriosaAI's validator expects 30-60 W at idle), else the fraction."""


def idle_power_watts(model_key: str, tdp_watts: float) -> float:
    """A card model's idle power: its recorded figure, else ``IDLE_POWER_FRACTION`` of its TDP."""
    return IDLE_POWER_WATTS.get(model_key, IDLE_POWER_FRACTION * tdp_watts)


POWER_NOISE_FRACTION = 0.01  # ± relative noise on power readings
TEMPERATURE_NOISE_CELSIUS = 0.3  # ± noise on temperature readings
BUSY_UTILIZATION = 0.97  # utilization fraction while a workload runs (± noise)

BASE_CLOCK_MHZ = 1000  # nominal NPU clock reported by the tools
IDLE_MEMORY_FRACTION = 0.004  # firmware/runtime reservation while idle
WORKLOAD_MEMORY_FRACTION = 0.2  # memory a running workload holds

# Fault parameter defaults (each overridable in the inventory's fault ``parameters``).
THERMAL_RUNAWAY_TARGET_CELSIUS = 105.0  # inlet temperature the failed cooling drives towards
ECC_CORRECTABLE_PER_HOUR = 360.0
ECC_UNCORRECTABLE_COUNT = 1
AER_STORM_BURST = 500  # correctable AER errors logged the moment a storm starts
AER_STORM_PER_HOUR = 36000.0  # and more at this rate (ten a second: a flapping link)
XID_CODE = 79  # NVIDIA's 'GPU has fallen off the bus'
PERF_DEGRADATION_PER_HOUR = 0.2  # fraction of throughput lost per emulated hour
PERF_DEGRADATION_FLOOR = 0.5
PCIE_DEGRADED_LINK = "Gen4 x8"

# Older Rebellions SDKs print "npu": "0" as a string; node label that selects it.
RBLN_NPU_STRING_LABEL = "emulator.rbln-npu-as-string"

# Environment of a tool invocation.
NODE_DIR_ENV = "KCLOUD_EMU_NODE_DIR"  # the emulated node's directory (spec.json, state.json)
TIME_ENV = "KCLOUD_EMU_TIME"  # fixes emulated time (seconds) for deterministic tests
