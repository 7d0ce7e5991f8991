"""Pure facts and rules of the platform: no IO, shared by the emulator, the service and the UI."""
