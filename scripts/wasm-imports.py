#!/usr/bin/env python3
"""Check what a Kubewarden policy module imports and exports.

A waPC policy may only import the waPC host functions (module `wapc`) and WASI
(`wasi_snapshot_preview1`); anything else (e.g. `env` or `__wbindgen_*` from a stray dependency)
makes policy-server refuse to instantiate it. It must export `__guest_call` and `wapc_init`.
Only the import and export sections are read (wasm binary format, section ids 2 and 7).

usage: wasm-imports.py MODULE.wasm [--list]
"""
import sys

WAPC_FUNCTIONS = {
    "__console_log", "__host_call", "__host_response", "__host_response_len", "__host_error_len",
    "__host_error", "__guest_response", "__guest_error", "__guest_request",
}
REQUIRED_EXPORTS = {"__guest_call", "wapc_init", "memory"}
KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}


class Reader:
    def __init__(self, data, pos=0, end=None):
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def byte(self):
        if self.pos >= self.end:
            raise ValueError("unexpected end of section")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self):
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    def name(self):
        n = self.uleb()
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("utf-8")

    def skip_limits(self):
        flags = self.byte()
        self.uleb()
        if flags & 1:
            self.uleb()


def sections(data):
    if data[:4] != b"\0asm" or data[4:8] != b"\x01\0\0\0":
        raise ValueError("not a WebAssembly 1.0 module")
    r = Reader(data, 8)
    while r.pos < len(data):
        sid, size = r.byte(), r.uleb()
        yield sid, Reader(data, r.pos, r.pos + size)
        r.pos += size


def imports_and_exports(data):
    imports, exports = [], []
    for sid, r in sections(data):
        if sid == 2:
            for _ in range(r.uleb()):
                module, field, kind = r.name(), r.name(), r.byte()
                if kind == 0:
                    r.uleb()  # type index
                elif kind == 1:
                    r.byte()  # element type
                    r.skip_limits()
                elif kind == 2:
                    r.skip_limits()
                elif kind == 3:
                    r.byte(), r.byte()  # value type, mutability
                elif kind == 4:
                    r.byte(), r.uleb()  # attribute, type index
                else:
                    raise ValueError(f"unknown import kind {kind}")
                imports.append((module, field, KINDS[kind]))
        elif sid == 7:
            for _ in range(r.uleb()):
                field, kind = r.name(), r.byte()
                r.uleb()
                exports.append((field, KINDS.get(kind, str(kind))))
    return imports, exports


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    with open(path, "rb") as f:
        imports, exports = imports_and_exports(f.read())
    if "--list" in sys.argv:
        for module, field, kind in imports:
            print(f"import {module}.{field} ({kind})")
        for field, kind in exports:
            print(f"export {field} ({kind})")
    problems = []
    for module, field, kind in imports:
        allowed = (module == "wapc" and field in WAPC_FUNCTIONS) or module == "wasi_snapshot_preview1"
        if not allowed:
            problems.append(f"unexpected import {module}.{field} ({kind})")
    missing = REQUIRED_EXPORTS - {field for field, _ in exports}
    problems += [f"missing export {name}" for name in sorted(missing)]
    modules = sorted({m for m, _, _ in imports})
    if problems:
        print(f"{path}: " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"{path}: imports only {', '.join(modules)} ({len(imports)} functions); exports {', '.join(sorted(REQUIRED_EXPORTS))}")


if __name__ == "__main__":
    main()
