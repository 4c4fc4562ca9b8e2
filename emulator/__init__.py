"""smets2-emu: a device-side emulator of a GB SMETS2 premises and the DCC around it.

Layers, lowest first (a layer imports only the layers below it):

* ``emulator.gbcs``, ``emulator.zigbee``: sans-IO codecs and security.
* ``emulator.devices``, ``emulator.dsp``: sans-IO state machines and rules.
* ``emulator.transport``, ``emulator.pki``: asyncio / file adapters.
* ``emulator.scenarios``, ``emulator.cli``: journeys and the command line.
"""

__version__ = "0.1.0"
