"""Imported by Python at start-up in every process `exsim run-bot` starts (run-bot puts this
folder first on PYTHONPATH): puts the interpreter on the gateway's replay clock (shim.py), then
runs the sitecustomize this one shadows, if there is one further along the path."""


def _exsim_botclock() -> None:
    import importlib.machinery
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))

    def load(name: str, spec) -> None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)

    # the other sitecustomize first: it may set up the paths (e.g. where time-machine lives)
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    other = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if other is not None and other.origin and os.path.abspath(other.origin) != os.path.abspath(__file__):
        try:
            load("_exsim_chained_sitecustomize", other)
        except Exception as exc:  # noqa: BLE001 - as Python itself does for a failing sitecustomize
            sys.stderr.write(f"Error in sitecustomize ({other.origin}); set PYTHONVERBOSE for traceback:\n"
                             f"{type(exc).__name__}: {exc}\n")
    if not os.environ.get("EXSIM_GATEWAY"):
        return
    spec = importlib.util.spec_from_file_location("_exsim_botclock_shim", os.path.join(here, "shim.py"))
    load("_exsim_botclock_shim", spec)
    sys.modules["_exsim_botclock_shim"].install()


_exsim_botclock()
del _exsim_botclock
