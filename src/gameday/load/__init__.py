"""Load: Locust in its own processes (`proc`, run with `python -m`), the
harness side that starts it and reads its samples (`runner`), and the sample
value (`sample`). Nothing here imports Locust into the harness process:
Locust monkey-patches the interpreter with gevent."""
from .sample import LoadSample
from .runner import LoadRun, default_locustfile

__all__ = ["LoadSample", "LoadRun", "default_locustfile"]
