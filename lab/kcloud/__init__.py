"""The K-Cloud team's own formats (github.com/openkcloud), read and written so their lab can adopt ours.

- :mod:`lab.kcloud.cluster`: their cluster description → our inventory YAML, every unmapped field reported
- :mod:`lab.kcloud.fingerprint`: their configuration fingerprint (SHA-256 over 12 fields)
- :mod:`lab.kcloud.results`: their per-run ``result.json`` and normalised CSV rows, both ways
- :mod:`lab.kcloud.loadgen_summary`: LoadGen's ``mlperf_log_summary.txt`` from their GPU jobs → their fields
- :mod:`lab.kcloud.history_import`, :mod:`lab.kcloud.compare`: their rows in our history, like for like
- :mod:`lab.kcloud.canonical`: their canonical run; their "time to 100 output tokens" beside the measured one
- :mod:`lab.kcloud.monitor`: the exporters their monitor reads, the Rebellions 1/1000 quirk classified

Sources followed (the files were removed from their HEAD in mid-2026, so the history is read):
openkcloud/kcloud-mlperf at d86f5339b779f720ff64af5ae732d2d983e8b532 (last commit before
f5af629 "Slim kcloud-mlperf…") and at eb881eb35fd1a57cfe839fd54511717c01e0359b (HEAD, 2026-06-30);
openkcloud/kcloud-operator at da49e190f1e2ca67d165e0a6ab1d31d75f512db8; openkcloud/kcloud-monitor at
036cd9985c9c5b9469ddfdcef2e7b8ef82aa4639. See docs/kcloud.md.
"""
