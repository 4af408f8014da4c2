"""The power state machine of one ComputerSystem.

PowerState is "On" or "Off" at rest and "PoweringOn" / "PoweringOff" for
`delay` seconds after a Reset, as real BMCs report while the host's power
sequencing runs.  The emulator's ticker thread calls tick() (with the
emulator lock held); on_change(old, new) runs for every state change.

What each ResetType does (from On / from Off):
  On, ForceOn             nothing (already on) / PoweringOn -> On
  ForceOff,
  GracefulShutdown        PoweringOff -> Off / nothing
  PushPowerButton         like GracefulShutdown / like On
  ForceRestart,
  GracefulRestart,
  PowerCycle              PoweringOff (delay/2) -> PoweringOn (delay/2) -> On
                          / PoweringOn -> On
  Nmi                     no power change (the emulator logs it)
A Reset that arrives during a transition replaces the pending one.  With
the "graceful_ignored" fault, GracefulShutdown/GracefulRestart (and the
power button when on) are accepted but nothing happens, like a host OS
that ignores the ACPI request.
"""

import time

ALL_RESET_TYPES = ("On", "ForceOn", "ForceOff", "GracefulShutdown",
                   "GracefulRestart", "ForceRestart", "PowerCycle", "Nmi",
                   "PushPowerButton")

GRACEFUL = ("GracefulShutdown", "GracefulRestart")


class PowerMachine:
    def __init__(self, initial="On", delay=1.0, on_change=None,
                 clock=time.monotonic):
        if initial not in ("On", "Off"):
            initial = "On" if str(initial).startswith("PoweringOn") \
                or initial not in ("Off", "PoweringOff") else "Off"
        self.state = initial
        self.delay = max(0.0, float(delay))
        self.on_change = on_change
        self.clock = clock
        self.plan = []          # [(due, state)], in order
        self.resets = 0
        self.last_reset_type = None

    def _set(self, new):
        old, self.state = self.state, new
        if old != new and self.on_change:
            self.on_change(old, new)

    def _start(self, steps):
        """steps: [(fraction of delay, state)]; the first one applies now."""
        now = self.clock()
        self.plan = []
        first = True
        for frac, state in steps:
            if first:
                self._set(state)
                first = False
            else:
                self.plan.append((now + frac * self.delay, state))
        self.tick()

    @property
    def is_on(self):
        return self.state in ("On", "PoweringOff")

    def reset(self, reset_type, graceful_ignored=False):
        """Apply one ResetType (already validated)."""
        self.resets += 1
        self.last_reset_type = reset_type
        on = self.state in ("On", "PoweringOn")
        if reset_type == "PushPowerButton":
            reset_type = "GracefulShutdown" if on else "On"
        if graceful_ignored and reset_type in GRACEFUL and on:
            return
        if reset_type in ("On", "ForceOn"):
            if not on:
                self._start([(0, "PoweringOn"), (1, "On")])
        elif reset_type in ("ForceOff", "GracefulShutdown"):
            if on:
                self._start([(0, "PoweringOff"), (1, "Off")])
        elif reset_type in ("ForceRestart", "GracefulRestart", "PowerCycle"):
            if on:
                self._start([(0, "PoweringOff"), (0.5, "PoweringOn"),
                             (1, "On")])
            else:
                self._start([(0, "PoweringOn"), (1, "On")])
        # Nmi and OEM types: no power change

    def force(self, state):
        """Set On/Off at once (control API), dropping any transition."""
        self.plan = []
        self._set(state)

    def tick(self):
        now = self.clock()
        while self.plan and self.plan[0][0] <= now:
            _, state = self.plan.pop(0)
            self._set(state)

    def pending(self):
        return [s for _, s in self.plan]
