"""The node-side performance agent: runs MLPerf LoadGen next to the device.

The controller (``lab.performance``) builds this package into a zipapp, copies it to the
node over SFTP and runs it there with a request file; the agent prints exactly one JSON
object on stdout (see ``protocol``)::

    python3 kcloud-agent.pyz request.json          # on the node

Only the standard library and ``mlperf_loadgen`` (pinned: ``mlcommons-loadgen==6.0.17``)
are needed by the agent itself; a backend may need its runtime (onnxruntime, a vendor
SDK). Modules use relative imports only, so the package runs from the zipapp (where it is
called ``kcloud_agent``) and from the source tree (``lab.agent``) alike, and never
shadows the node's own ``lab`` package (emulated nodes import ``lab.emulator``).
"""
