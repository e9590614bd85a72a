# ttatrace's Python bootstrap (CPython 3.12+, standard library only).
#
# First on PYTHONPATH, it reads the spec file named by TTATRACE_PY_SPEC (written by
# `ttatrace --config FILE -- python3 ...`, or shipped with a prepared service) and
# arms sys.monitoring LOCAL events PY_START|PY_RETURN on the code objects of the
# primitives it names, with NO callback, plus the global PY_UNWIND. The interpreter
# then enters its instrumentation functions for those code objects only, where
# ttatrace's uprobes see them; nobody tracing costs almost nothing. It writes what it
# armed to a registry file (code object and class addresses -> names) that ttatrace
# reads, then runs the sitecustomize it shadows, if any. It never prints. A forked
# child shares what its parent armed and appends what it arms itself to the same
# file, each line marked with its pid: no file of its own to leave behind (a
# worker's os._exit skips atexit). In a prepared service (not launched by ttatrace)
# the process that made the file removes it at exit; ttatrace keeps it open.
import os
import sys


def _ttatrace_boot():
    spec_path = os.environ.get("TTATRACE_PY_SPEC")
    here = os.path.dirname(os.path.abspath(__file__))
    # invisible to the app: its own sys.path and PYTHONPATH come back as they were
    try:
        while here in sys.path:
            sys.path.remove(here)
    except ValueError:
        pass
    global _launched
    _launched = "TTATRACE_PY_ORIG_PYTHONPATH" in os.environ
    if _launched:
        orig = os.environ.pop("TTATRACE_PY_ORIG_PYTHONPATH")
        if orig == "\x01unset":
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = orig
    if spec_path and hasattr(sys, "monitoring"):
        try:
            _arm(spec_path)
        except Exception as e:  # never break the app
            _note("bootstrap failed: %r" % (e,))
    _chain(here)


_reg_fd = -1
_reg_dir = None
_tag = ""  # a forked child's pid: its lines are marked (lower-case kind, pid)
_launched = False


def _reg_open(pid):
    global _reg_fd
    path = os.path.join(_reg_dir, "ttatrace-py-%d.reg" % pid)
    _reg_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC,
                      0o600)
    if not _launched:
        import atexit
        atexit.register(_reg_remove, path, pid)


def _reg_remove(path, pid):
    if os.getpid() == pid:
        try:
            os.unlink(path)
        except OSError:
            pass


def _forked():
    global _tag
    _tag = str(os.getpid())


def _note(line):
    if _reg_fd >= 0:
        try:
            os.write(_reg_fd, ("N\t" + line.replace("\n", " ") + "\n").encode())
        except OSError:
            pass


def _reg(*fields):
    if _reg_fd >= 0:
        if _tag:
            if fields[0] not in ("C", "T"):
                return
            fields = (fields[0].lower(), _tag) + fields[1:]
        line = "\t".join(str(f).replace("\t", " ").replace("\n", " ") for f in fields) + "\n"
        # one write a line, appended: the family's processes share this file
        os.write(_reg_fd, line.encode("utf-8", "replace"))


def _read_spec(spec_path):
    # (selector, "class"/"func", module, qualname or glob, methods, primitive kind), in
    # catalogue order. Either ttatrace's spec (tab-separated lines) or the catalogue
    # YAML itself, of which only the python_class / methods / python / kind keys are
    # read (flow style). The kind goes to the registry: a node agent whose catalogue
    # does not list these primitives still knows what each one is.
    entries = []
    with open(spec_path) as f:
        text = f.read()
    if "primitives:" not in text:
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if parts[0] == "class" and len(parts) >= 3:
                entries.append([parts[1], "class", parts[2].split(","),
                                parts[3] if len(parts) > 3 else ""])
            elif parts[0] == "func" and len(parts) >= 2:
                entries.append([parts[1], "func", None, parts[2] if len(parts) > 2 else ""])
    else:
        cur = None
        methods = None  # an entry's methods, which may come before its python_class
        pkind = ""  # and its kind
        for raw in text.splitlines():
            line = raw.split(" #")[0].strip()
            if line.startswith("- "):
                cur = methods = None
                pkind = ""
                line = line[2:].strip()
            key, _, val = line.partition(":")
            val = val.strip().strip("\"'")
            if key in ("python_class", "python") and val:
                cur = [val, "class" if key == "python_class" else "func",
                       (methods or ["execute"]) if key == "python_class" else None, pkind]
                entries.append(cur)
            elif key == "methods":
                methods = [m.strip().strip("\"'") for m in val.strip("[]").split(",") if m.strip()]
                if cur is not None and cur[1] == "class":
                    cur[2] = methods
            elif key == "kind":
                pkind = val
                if cur is not None:
                    cur[3] = val
    out = []
    for sel, kind, methods, pkind in entries:
        mod, _, qual = sel.partition(":")
        out.append(((kind + ":" + sel), kind, mod, qual, methods, pkind))
    return out


def _arm(spec_path):
    global _reg_dir
    import fnmatch

    mon = sys.monitoring
    entries = _read_spec(spec_path)
    if not entries:
        return
    _reg_dir = os.environ.get("TTATRACE_PY_RUNDIR", "/tmp")
    _reg_open(os.getpid())
    os.register_at_fork(after_in_child=_forked)
    METHOD, FUNC = 4, 3
    ev = mon.events
    local = ev.PY_START | ev.PY_RETURN
    try:
        mon.use_tool_id(METHOD, "ttatrace")
        mon.use_tool_id(FUNC, "ttatrace-functions")
    except ValueError as e:
        _note("sys.monitoring tool id taken: %s" % (e,))
        return
    mon.set_events(METHOD, ev.PY_UNWIND)
    _reg("P", os.getpid(), "%d.%d" % sys.version_info[:2], METHOD, FUNC)
    armed = set()
    class_entries = [e for e in entries if e[1] == "class"]
    bases = {}  # listed class object -> its entry

    def arm_code(code, tool, selector, pkind):
        if id(code) in armed:
            return
        armed.add(id(code))
        _reg("C", id(code), selector, code.co_name, code.co_qualname,
             getattr(code, "co_filename", ""), code.co_firstlineno, pkind or "-")
        mon.set_local_events(tool, code, local)

    def unwrap(fn):
        seen = 0
        while hasattr(fn, "__wrapped__") and seen < 16:
            fn = fn.__wrapped__
            seen += 1
        if isinstance(fn, (staticmethod, classmethod)):
            fn = fn.__func__
        return getattr(fn, "__code__", None)

    def entry_for(cls):
        # catalogue order: the first listed class on the MRO decides
        for e in class_entries:
            for b in cls.__mro__:
                if bases.get(b) is e:
                    return e
        return None

    def arm_class(cls):
        e = entry_for(cls)
        if e is None:
            return
        _reg("T", id(cls), e[0], cls.__qualname__, cls.__module__, e[5] or "-")
        for m in e[4]:
            for b in cls.__mro__:
                if m in b.__dict__:
                    code = unwrap(b.__dict__[m])
                    if code is not None:
                        arm_code(code, METHOD, e[0], e[5])
                    break
        for sub in cls.__subclasses__():
            arm_class(sub)

    def hook_subclasses(base):
        own = base.__dict__.get("__init_subclass__")

        def __init_subclass__(cls, **kw):
            if own is not None:
                own.__func__(cls, **kw)
            else:
                super(base, cls).__init_subclass__(**kw)
            try:
                arm_class(cls)
            except Exception as ex:
                _note("arming %r: %r" % (cls, ex))
        base.__init_subclass__ = classmethod(__init_subclass__)

    def resolve(mod, qual):
        obj = mod
        for part in qual.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj

    def on_module(mod):
        name = mod.__name__
        for e in entries:
            if e[2] != name:
                continue
            if e[1] == "class":
                cls = resolve(mod, e[3])
                if isinstance(cls, type) and cls not in bases:
                    bases[cls] = e
                    hook_subclasses(cls)
                    arm_class(cls)
            else:
                for k, v in list(vars(mod).items()):
                    if isinstance(v, type) and v.__module__ == name:
                        for mk, mv in list(v.__dict__.items()):
                            code = unwrap(mv)
                            if code is not None and fnmatch.fnmatchcase(code.co_qualname, e[3]):
                                arm_code(code, FUNC, e[0], e[5])
                    else:
                        code = unwrap(v) if callable(v) else None
                        if code is not None and getattr(v, "__module__", None) == name and \
                                fnmatch.fnmatchcase(code.co_qualname, e[3]):
                            arm_code(code, FUNC, e[0], e[5])

    wanted = {e[2] for e in entries}
    for n in wanted:
        if n in sys.modules:
            on_module(sys.modules[n])

    import importlib.abc

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname not in wanted:
                return None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    loader = spec.loader
                    if loader is not None and hasattr(loader, "exec_module"):
                        orig = loader.exec_module

                        def exec_module(module, _orig=orig):
                            _orig(module)
                            try:
                                on_module(module)
                            except Exception as ex:
                                _note("arming %s: %r" % (fullname, ex))
                        loader.exec_module = exec_module
                    return spec
            return None

    sys.meta_path.insert(0, _Finder())


def _chain(here):
    # the sitecustomize this one shadows, found on the rest of sys.path
    import importlib.machinery
    import importlib.util
    path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    mod = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = mod
    spec.loader.exec_module(mod)


_ttatrace_boot()
del _ttatrace_boot
