"""The code sandbox's launcher: confines itself, then becomes the program to run.

Run as a script (`python -I _confine.py CONFIG_JSON`), standard library only, so nothing of
Gigforge is imported into the process that will run untrusted code. In order it: lowers the
resource limits, leaves the network (a fresh network namespace holding only a downed loopback),
drops every capability (no privilege comes back on exec), sets no_new_privs, restricts the
file system with Landlock (read and execute beneath the runtime's folders, everything beneath
the sandbox folder, nothing else; TCP bind and connect refused where the kernel's Landlock has
network rules), installs a seccomp filter refusing new processes and threads, and execs. Any
step that fails stops the launch with exit status 126: it never runs the program unconfined.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CLONE_NEWNET = 0x40000000
CAPABILITY_VERSION_3 = 0x20080522
LAST_CAPABILITY = 63
CONFINEMENT_FAILED = 126
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EAGAIN = 11
X32_SYSCALL_BIT = 0x40000000
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
# The audit architecture and the syscalls that make a process or a thread, per machine.
SPAWNING_SYSCALLS = {
    "x86_64": (0xC000003E, (56, 57, 58, 435)),  # clone, fork, vfork, clone3
    "aarch64": (0xC00000B7, (220, 435)),  # clone, clone3
}

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
# Rights each ABI version handles: v1 has 13, v2 adds REFER, v3 TRUNCATE, v5 IOCTL_DEV.
FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | (1 << 14) | (1 << 15)
NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter)))


class CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


class ConfinementError(Exception):
    pass


def _check(result: int, what: str) -> int:
    if result < 0:
        raise ConfinementError(f"{what} failed: {os.strerror(ctypes.get_errno())}")
    return result


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is not available."""
    version = int(
        _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    )
    return max(version, 0)


def _fs_rights(abi: int) -> int:
    return FS_RIGHTS_BY_ABI[max(version for version in FS_RIGHTS_BY_ABI if version <= abi)]


def _allow(ruleset: int, path: str, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not os.path.isdir(path):
            access &= FILE_RIGHTS
        rule = PathBeneathAttr(allowed_access=access, parent_fd=fd)
        _check(
            _libc.syscall(
                SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0
            ),
            f"landlock_add_rule({path})",
        )
    finally:
        os.close(fd)


def restrict_files(read: list[str], write: list[str]) -> None:
    abi = landlock_abi()
    if abi < 1:
        raise ConfinementError("Landlock is not available in this kernel")
    rights = _fs_rights(abi)
    attr = RulesetAttr(handled_access_fs=rights)
    size = 8
    if abi >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    ruleset = _check(
        _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0),
        "landlock_create_ruleset",
    )
    try:
        for path in read:
            _allow(ruleset, path, FS_EXECUTE | FS_READ_FILE | FS_READ_DIR)
        for path in write:
            _allow(ruleset, path, rights)
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(_libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def leave_network() -> bool:
    """A network namespace of its own; False where the process may not make one."""
    return bool(_libc.unshare(CLONE_NEWNET) == 0)


def drop_capabilities() -> None:
    for capability in range(LAST_CAPABILITY + 1):
        if _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) < 0:
            break
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = CapHeader(version=CAPABILITY_VERSION_3, pid=0)
    data = (CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def forbid_spawning() -> None:
    """A seccomp filter that answers EAGAIN to every call making a process or a thread.

    RLIMIT_NPROC cannot do this here: the kernel never applies it to the root user, and
    Gigforge's workers may run as root. Calls of another architecture are killed outright.
    """
    machine = os.uname().machine
    if machine not in SPAWNING_SYSCALLS:
        raise ConfinementError(f"no process filter for the {machine} architecture")
    arch, calls = SPAWNING_SYSCALLS[machine]
    deny = len(calls) + 1
    program = [
        SockFilter(BPF_LD_W_ABS, 0, 0, 4),
        SockFilter(BPF_JEQ_K, 1, 0, arch),
        SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
        SockFilter(BPF_LD_W_ABS, 0, 0, 0),
        SockFilter(BPF_JGE_K, deny, 0, X32_SYSCALL_BIT),
        *(SockFilter(BPF_JEQ_K, deny - 1 - index, 0, call) for index, call in enumerate(calls)),
        SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EAGAIN),
    ]
    filters = (SockFilter * len(program))(*program)
    fprog = SockFprog(len=len(program), filter=filters)
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def set_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def main(argv: list[str]) -> None:
    config = json.loads(argv[1])
    try:
        set_limits(config["limits"])
        if not leave_network() and landlock_abi() < 4:
            raise ConfinementError("neither a network namespace nor Landlock network rules")
        drop_capabilities()
        restrict_files(config["read"], config["write"])
        forbid_spawning()
    except (ConfinementError, OSError, ValueError) as exc:
        sys.stderr.write(f"gigforge sandbox: refusing to run: {exc}\n")
        sys.stderr.flush()
        os._exit(CONFINEMENT_FAILED)
    os.execve(config["argv"][0], config["argv"], config["env"])  # noqa: S606 - no shell wanted


if __name__ == "__main__":
    main(sys.argv)
