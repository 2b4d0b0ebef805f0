"""The watch engine: one job followed live, written to one sink.

- `engine.WatchSession(backend, view, sink)`: the threads, the lock, the view.
- `sinks.Sink`: the interface; `sinks.JsonSink`, `sinks.PlainSink`,
  `live.LiveSink`: the three output modes.
- `run.watch_job(settings, WatchOptions(...), terminal=...)`: all of `watch` (`demo` too).

Import the submodules themselves (this package imports nothing, so a piped
watch never loads rich). docs/ARCHITECTURE.md shows how to add a sink.
"""
