"""rfemu - the pieces of underlay's stateful Redfish BMC emulator.

emulator.py (one directory up) is the command-line entry point; see
README.md there.  Modules:

  messages   Redfish message registries (the subset used) and error bodies
  model      Resource, Collection, ActionTarget, the resource Tree, $expand
  power      the per-system power state machine
  sessions   SessionService, sessions and accounts (authentication)
  events     EventService, subscriptions and the event dispatcher
  logs       LogService, log entry collections and entries
  sensors    Sensor resources and the legacy Thermal/Power views
  systems    ComputerSystem, Chassis and Manager resources
  bios       Bios, Bios/Settings and the BIOS attribute registry
  storage    Storage, Drives and Volumes (create/delete)
  tasks      TaskService, tasks (threads) and task monitors
  update     UpdateService, FirmwareInventory, SimpleUpdate, multipart push
  builtin    the generated rack-server service tree
  mockup     serving a DMTF-format mockup directory with state on top
  server     the Emulator (state, lock, faults, ticker) and the HTTP server
  util       time stamps and stable UUIDs

Standard library only.
"""
