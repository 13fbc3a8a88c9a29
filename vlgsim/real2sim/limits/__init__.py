"""One readable safety configuration per robot (see :class:`vlgsim.real2sim.safety.SafetyLimits`)."""
