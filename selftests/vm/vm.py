#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Boot Debian's kernel in QEMU (TCG, emulated VT-d) and run VM tests in it.

One VM per test file. The guest mounts the host's / read-only over 9p,
chroots into it and runs the test with bash; the test prints TAP on the
console (ttyS0) between VR-TAP-BEGIN and VR-TAP-END markers. ttyS1 is a
control channel: each JSON line the guest writes there is run as a QMP
command and answered with one JSON line. See README.md next to this file.
"""

import argparse
import collections
import concurrent.futures
import ctypes
import fcntl
import gzip
import json
import lzma
import os
import re
import select
import shlex
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

MODULE_NAME = "vfio_reserve"
# The tests' own drivers (selftests/vm/testdrv), which Kbuild builds beside
# the module: found in this directory below the module's. vr_testvariant is
# built only for a kernel with vfio-pci-core.
TESTDRV_NAMES = ("vr_testdrv", "vr_testvariant")
TESTDRV_DIR = os.path.join("selftests", "vm", "testdrv")
NINEP_MODULES = ("virtio_pci", "9pnet_virtio", "9p")
BUSYBOX = "/bin/busybox"
DEFAULT_TIMEOUT = 120
# A guest that has not reached /init by then (seconds, times the timeout
# factor, unless --boot-timeout says) stalled: Debian's kernels take 4 to
# 10 s, the 7.x debug kernel 30 to 35 s alone and 50 to 65 s beside another
# VM (check-debug.sh gives it 180).
BOOT_TIMEOUT = 60
POWEROFF_GRACE = 15
# init.sh runs a kmemleak scan after the test when the kernel has kmemleak
# (VR-KMEMLEAK-SCAN ... VR-KMEMLEAK-END): it may take this long on top.
KMEMLEAK_GRACE = 300

# Anything of this on the console fails the test, whatever the TAP says.
KERNEL_BAD = re.compile(r"Oops|BUG:|WARNING:|Kernel panic|general protection fault"
                        r"|Call Trace:|UBSAN:|KASAN:")
# A printk record on the console starts with its timestamp (CONFIG_PRINTK_TIME).
KERNEL_TS = re.compile(r"\[\s*\d+\.\d{6}\] ")
TAP_RESULT = re.compile(r"(not ok|ok)\b\s*(\d+)?\s*(?:- )?([^#]*?)\s*(?:#\s*(.*))?$")
TAP_PLAN = re.compile(r"1\.\.(\d+)\s*(?:#\s*(.*))?$")
HEADER = re.compile(r"^#\s*vm-(cmdline|timeout|qemu|allow-trace|firmware):\s*(.*?)\s*$")
# vm-firmware: the guest's firmware other than QEMU's default (SeaBIOS).
# With qboot a guest with hundreds of functions behind a PCI bridge reaches
# /init in seconds (27-big-group's 257: 4.2 s; 3 to 5 minutes with
# SeaBIOS). SeaBIOS stays the default: it reserves the bridge windows that
# hotplug into empty root ports needs.
FIRMWARE = {"qboot": "/usr/share/qemu/qboot.rom"}

# The emulated IOMMU (--iommu): VT-d, or AMD-Vi (README.md says what QEMU's
# AMD model can do). Both remap interrupts (split irqchip).
IOMMU_DEVICES = {
    "intel": "intel-iommu,intremap=on,caching-mode=on",
    "amd": "amd-iommu,intremap=on",
}

MODPROBE_WRAPPER = """#!/bin/busybox sh
# request_module() runs this in the initramfs root: use the chroot's kmod.
exec /bin/busybox chroot /newroot /sbin/modprobe "$@"
"""


def log(msg):
    print(f"# vm: {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"vm.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def find_tool(name):
    path = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"
    found = shutil.which(name, path=path)
    if not found:
        die(f"{name} not found (install the package that provides it)")
    return found


def mtime(path):
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0


def run(argv, **kw):
    return subprocess.run(argv, check=True, text=True, **kw)


# ---------------------------------------------------------------------------
# Kernel, module tree and initramfs

def ko_vermagic_kver(ko):
    out = run([find_tool("modinfo"), "-F", "vermagic", ko],
              stdout=subprocess.PIPE).stdout.split()
    if not out:
        die(f"{ko}: no vermagic")
    return out[0]


def newest_installed_kver():
    kvers = [name[len("vmlinuz-"):] for name in os.listdir("/boot")
             if name.startswith("vmlinuz-")]
    kvers = [k for k in kvers if os.path.exists(f"/lib/modules/{k}/modules.dep")]
    if not kvers:
        die("no /boot/vmlinuz-KVER with /lib/modules/KVER: install linux-image-amd64")
    key = lambda k: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", k)]
    return sorted(kvers, key=key)[-1]


def lock_build_dir(vmdir):
    """One runner per build directory: the module tree, the logs and
    results.txt are shared, and a guest reads the tree while it runs.
    The lock lasts as long as this process."""
    os.makedirs(vmdir, exist_ok=True)
    fd = os.open(os.path.join(vmdir, ".lock"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"waiting for another vm.py using {os.path.relpath(vmdir)}")
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.replace(path + ".tmp", path)


def unshare_file(path):
    """Replace a (possibly hard-linked) file by a private copy."""
    shutil.copy2(path, path + ".tmp")
    os.replace(path + ".tmp", path)


class ModRoot:
    """build/vm/modroot/lib/modules/KVER: the host's modules plus ours.

    A hard-link copy of /lib/modules/KVER, refreshed when the host's tree
    changes, with every copy of the module replaced by the one under test
    and depmod run on it. Files are never written through a hard link.
    """

    def __init__(self, vmdir, kver, ko, host=None):
        self.base = os.path.join(vmdir, "modroot")
        self.kver = kver
        self.ko = ko
        self.testdrvs = []
        for name in TESTDRV_NAMES if ko else ():
            path = os.path.join(os.path.dirname(ko), TESTDRV_DIR, name + ".ko")
            if os.path.exists(path):
                self.testdrvs.append((name, path))
        self.host = host or f"/lib/modules/{kver}"
        self.kdir = os.path.join(self.base, "lib", "modules", kver)
        self.stamp = os.path.join(self.base, f".stamp-{kver}")

    def host_mtime(self):
        return max(mtime(self.host), mtime(os.path.join(self.host, "modules.dep")))

    def prepare(self):
        state = read_json(self.stamp)
        if state is None or not self.complete() or \
                self.host_mtime() > mtime(self.stamp):
            self.copy_host_tree()
            state = None
        ko_state = [self.ko, mtime(self.ko)] if self.ko else None
        for _, path in self.testdrvs:
            ko_state += [path, mtime(path)]
        if state is not None and state.get("host", "/lib/modules") != \
                self.host_key():
            self.copy_host_tree()
            state = None
        if state is not None and state.get("ko") == ko_state:
            return
        if os.path.lexists(self.stamp):
            os.unlink(self.stamp)
        self.install_module()
        run([find_tool("depmod"), "-b", self.base, self.kver])
        state = {"ko": ko_state}
        if self.host_key() != "/lib/modules":
            state["host"] = self.host_key()
        write_json(self.stamp, state)

    def host_key(self):
        """Where the tree comes from, in the stamp ("/lib/modules": the host's)."""
        if self.host == f"/lib/modules/{self.kver}":
            return "/lib/modules"
        return self.host

    def complete(self):
        """Every file depmod reads or listed: `make M=<top> clean` deletes
        *.ko and modules.order anywhere below the top, build/ included."""
        if not all(os.path.exists(os.path.join(self.kdir, name))
                   for name in ("modules.order", "modules.builtin")):
            return False
        try:
            with open(os.path.join(self.kdir, "modules.dep")) as f:
                return all(os.path.exists(os.path.join(self.kdir, line.split(":")[0]))
                           for line in f)
        except OSError:
            return False

    def copy_host_tree(self):
        log(f"preparing {os.path.relpath(self.kdir)} from {self.host}")
        if os.path.lexists(self.stamp):
            os.unlink(self.stamp)
        shutil.rmtree(self.kdir, ignore_errors=True)
        os.makedirs(os.path.dirname(self.kdir), exist_ok=True)
        cp = find_tool("cp")
        if subprocess.run([cp, "-al", self.host, self.kdir],
                          stderr=subprocess.DEVNULL).returncode != 0:
            # A symlink farm cannot work: the guest mounts this tree over
            # /lib/modules/KVER, where the links would point to themselves.
            log("hard links failed (another filesystem?), copying the tree")
            shutil.rmtree(self.kdir, ignore_errors=True)
            run([cp, "-a", self.host, self.kdir])
        for name in os.listdir(self.kdir):
            path = os.path.join(self.kdir, name)
            if os.path.isfile(path) and not os.path.islink(path):
                unshare_file(path)

    def install_module(self):
        names = "|".join(re.escape(n) for n in (MODULE_NAME,) + TESTDRV_NAMES)
        for dirpath, _, files in os.walk(self.kdir):
            for name in files:
                if re.fullmatch(rf"({names})\.ko(\.\w+)?", name):
                    os.unlink(os.path.join(dirpath, name))
        if self.ko:
            self.install_one(self.ko, MODULE_NAME)
        for name, path in self.testdrvs:
            self.install_one(path, name)

    def install_one(self, ko, name):
        extra = os.path.join(self.kdir, "extra")
        os.makedirs(extra, exist_ok=True)
        dest = os.path.join(extra, name + ".ko")
        # DKMS compresses the module as the kernel's own are (.ko.xz on
        # Debian's 6.12): the tree gets it plain.
        with open(dest, "wb") as f:
            f.write(read_module(ko))
        shutil.copystat(ko, dest)
        # Without its debug info (kallsyms keeps the symbols): a fraction
        # of the size to read over 9p at every load.
        if shutil.which("strip") and subprocess.run(
                ["strip", "--strip-debug", dest], stderr=subprocess.PIPE).returncode:
            log(f"strip --strip-debug {dest} failed: the module is loaded as it is")
            with open(dest, "wb") as f:
                f.write(read_module(ko))


class Cpio:
    """Writer for the newc cpio format the kernel unpacks as initramfs."""

    def __init__(self):
        self.data = bytearray()
        self.ino = 1

    def _entry(self, name, mode, body=b"", nlink=1, rdev=(0, 0)):
        fields = (self.ino, mode, 0, 0, nlink, 0, len(body), 0, 0,
                  rdev[0], rdev[1], len(name) + 1, 0)
        self.data += b"070701" + b"".join(b"%08X" % f for f in fields)
        self.data += name.encode() + b"\0"
        self._pad()
        self.data += body
        self._pad()
        self.ino += 1

    def _pad(self):
        self.data += b"\0" * (-len(self.data) % 4)

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, body, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, body)

    def chardev(self, name, major, minor):
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self):
        self.ino = 0
        self._entry("TRAILER!!!", 0)
        return bytes(self.data)


def read_module(path):
    with open(path, "rb") as f:
        body = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(body)
    if path.endswith(".gz"):
        return gzip.decompress(body)
    if path.endswith(".zst"):
        return run([find_tool("zstd"), "-dc", path], stdout=subprocess.PIPE,
                   text=False).stdout
    return body


def modprobe_base(moddir, kver, vmdir):
    """A root for `modprobe -d` under which lib/modules/KVER is moddir."""
    tail = os.path.join("lib", "modules", kver)
    if moddir.rstrip("/").endswith("/" + tail):
        return moddir.rstrip("/")[:-len(tail) - 1] or "/"
    base = os.path.join(vmdir, "kbase")
    link = os.path.join(base, tail)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link) and os.readlink(link) == moddir:
        return base
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(moddir, link)
    return base


def ninep_module_chain(kver, base=None):
    """The .ko files to insmod, in order, for a 9p root over virtio-pci
    (none when they are built in)."""
    opt = ["-d", base] if base else []
    out = run([find_tool("modprobe"), "-a", *opt, "-S", kver, "--show-depends",
               *NINEP_MODULES], stdout=subprocess.PIPE).stdout
    chain = []
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "insmod" and words[1] not in chain:
            chain.append(words[1])
    return chain


class Initramfs:
    """build/vm/initramfs.cpio.gz: busybox, the 9p modules, /init."""

    def __init__(self, vmdir, kver, moddir=None):
        self.path = os.path.join(vmdir, "initramfs.cpio.gz")
        self.stamp = self.path + ".stamp"
        self.kver = kver
        self.vmdir = vmdir
        self.moddir = moddir  # None: /lib/modules/KVER
        self.init = os.path.join(HERE, "init.sh")

    def prepare(self):
        moddir = self.moddir or f"/lib/modules/{self.kver}"
        inputs = [self.init, os.path.realpath(__file__), BUSYBOX,
                  os.path.join(moddir, "modules.dep")]
        want = {"kver": self.kver}
        if self.moddir:
            want["moddir"] = self.moddir
        state = read_json(self.stamp)
        if state == want and max(map(mtime, inputs)) <= mtime(self.path):
            return
        log(f"building {os.path.relpath(self.path)} for {self.kver}")
        if not os.access(BUSYBOX, os.X_OK):
            die(f"{BUSYBOX} missing: install busybox-static")
        cpio = Cpio()
        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc",
                  "sys", "newroot", "hold", "modules", "tmp"):
            cpio.dir(d)
        cpio.chardev("dev/console", 5, 1)
        cpio.chardev("dev/null", 1, 3)
        with open(BUSYBOX, "rb") as f:
            cpio.file("bin/busybox", f.read(), 0o755)
        with open(self.init, "rb") as f:
            cpio.file("init", f.read(), 0o755)
        cpio.file("sbin/vr-modprobe", MODPROBE_WRAPPER.encode(), 0o755)
        base = modprobe_base(self.moddir, self.kver, self.vmdir) if self.moddir else None
        for i, ko in enumerate(ninep_module_chain(self.kver, base)):
            name = re.sub(r"\.ko(\.\w+)?$", ".ko", os.path.basename(ko))
            cpio.file(f"modules/{i:02d}-{name}", read_module(ko))
        with open(self.path + ".tmp", "wb") as f:
            f.write(gzip.compress(cpio.finish(), compresslevel=6, mtime=0))
        os.replace(self.path + ".tmp", self.path)
        write_json(self.stamp, want)


# ---------------------------------------------------------------------------
# Tests and the QEMU command line

class Test:
    timeout_factor = 1.0  # --timeout-factor: slow (debug) kernels
    timeout_override = None  # --timeout: every test's, in seconds
    boot_timeout = BOOT_TIMEOUT  # --boot-timeout, or BOOT_TIMEOUT x the factor

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.name = re.sub(r"\.sh$", "", os.path.basename(path))
        self.cmdline = []
        self.qemu = []
        self.timeout = DEFAULT_TIMEOUT
        # vm-allow-trace: REGEX -- a kernel report the test causes on
        # purpose (an allocation failure under fault injection): the "Call
        # Trace:" that follows a line matching it does not fail the test.
        self.allow_trace = None
        with open(self.path) as f:
            for line in f:
                m = HEADER.match(line)
                if not m:
                    continue
                key, value = m.groups()
                if key == "cmdline":
                    self.cmdline += shlex.split(value)
                elif key == "allow-trace":
                    self.allow_trace = re.compile(value)
                elif key == "firmware":
                    if value not in FIRMWARE:
                        die(f"{path}: vm-firmware: {value}: not one of {', '.join(FIRMWARE)}")
                    self.qemu += ["-bios", FIRMWARE[value]]
                elif key == "qemu":
                    # @TOP@ names the repository, wherever it is.
                    self.qemu += [a.replace("@TOP@", TOP)
                                  for a in shlex.split(value)]
                else:
                    self.timeout = int(value)
        if Test.timeout_override:
            self.timeout = Test.timeout_override
        self.timeout = int(self.timeout * Test.timeout_factor)


def kernel_cmdline(cfg, test):
    # no_timer_check: an overloaded host can make the IO-APIC timer check
    # fail under TCG ("timer doesn't work through Interrupt-remapped IO-APIC").
    # AMD-Vi is on whenever the firmware has an IVRS table: no argument.
    iommu_args = ["intel_iommu=on"] if cfg.iommu == "intel" else []
    args = ["console=ttyS0", *iommu_args, "no_timer_check", "panic=-1",
            "panic_on_warn=1",
            "oops=panic", "printk.devkmsg=on",
            'dyndbg="file drivers/base/dd.c +p"',
            f"vr.top={TOP}", f"vr.modroot={cfg.modroot}", f"vr.ko={int(bool(cfg.ko))}",
            f"vr.kernel={cfg.kernel}", f"vr.timeout_factor={Test.timeout_factor:g}",
            f"vr.iommu={cfg.iommu}"]
    args += cfg.append
    if test:
        args.append(f"vr.test={test.path}")
        args += test.cmdline
    if cfg.shell:
        args.append("vr.shell=1")
    return " ".join(args)


def qemu_argv(cfg, test, qmp_sock, ctl_sock, console):
    nic = "e1000e,romfile="
    argv = [
        cfg.qemu, "-no-user-config", "-nodefaults", "-display", "none", "-no-reboot",
        "-accel", "tcg,thread=multi", "-M", "q35,kernel-irqchip=split",
        "-cpu", "max", "-smp", "2", "-m", "2048",
        "-device", IOMMU_DEVICES[cfg.iommu],
        "-kernel", cfg.boot_kernel, "-initrd", cfg.initramfs,
        "-append", kernel_cmdline(cfg, test),
        # 00:02.0: a NIC on the root bus
        "-netdev", "user,id=n0,restrict=on",
        "-device", f"{nic},netdev=n0,id=nic0,bus=pcie.0,addr=0x2",
        # root ports rp1..rp4 at 00:03.0..00:06.0 -> buses 01..04
        *[arg for n in range(1, 5) for arg in (
            "-device", f"pcie-root-port,id=rp{n},bus=pcie.0,addr={n + 2:#x},"
                       f"chassis={n},slot={n}")],
        # 01:00.0: the same NIC behind a root port
        "-netdev", "user,id=n1,restrict=on",
        "-device", f"{nic},netdev=n1,id=nic1,bus=rp1",
        # 02:00.0: NVMe with SR-IOV (VFs 02:00.1..)
        "-device", "nvme-subsys,id=subsys0,nqn=vr-subsys0",
        "-device", "nvme,id=nvme0,bus=rp2,serial=vrnvme0,subsys=subsys0,"
                   "max_ioqpairs=10,sriov_max_vfs=4,sriov_vq_flexible=8,"
                   "sriov_vi_flexible=4",
        # 03:00.0 + 03:00.1: a multifunction pair, one IOMMU group
        "-netdev", "user,id=n3,restrict=on",
        "-device", f"{nic},netdev=n3,id=mf0,bus=rp3,addr=0x0.0,multifunction=on",
        "-device", "ich9-intel-hda,id=mf1,bus=rp3,addr=0x0.1",
        # rp4 stays empty for hotplug; spare backends for hotplugged NICs
        "-netdev", "user,id=hp0,restrict=on",
        "-netdev", "user,id=hp1,restrict=on",
        # 00:07.0: the host's / read-only
        "-fsdev", "local,id=fsroot,path=/,security_model=none,readonly=on,"
                  "multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=fsroot,mount_tag=hostroot,bus=pcie.0,addr=0x7",
        # ttyS1: the control channel; QMP for the runner
        "-chardev", f"socket,id=ctl,path={ctl_sock},server=on,wait=off",
        "-qmp", f"unix:{qmp_sock},server=on,wait=off",
    ]
    if console:
        argv += ["-chardev", f"file,id=con,path={console}"]
    else:
        argv += ["-chardev", "stdio,id=con,mux=on,signal=off",
                 "-mon", "chardev=con,mode=readline"]
    argv += ["-device", "isa-serial,chardev=con,index=0",
             "-device", "isa-serial,chardev=ctl,index=1"]
    if test:
        argv += test.qemu
    return argv


# ---------------------------------------------------------------------------
# QMP and the guest's control channel

class LineSocket:
    """A non-blocking stream socket carrying one JSON object per line."""

    def __init__(self, sock):
        sock.setblocking(False)
        self.sock = sock
        self.inbuf = b""
        self.outbuf = b""
        self.eof = False

    def fileno(self):
        return self.sock.fileno()

    def read_lines(self):
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return []
        self.inbuf += data
        *lines, self.inbuf = self.inbuf.split(b"\n")
        return [line.decode(errors="replace").strip() for line in lines if line.strip()]

    def send(self, obj):
        self.outbuf += json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        self.flush()

    def flush(self):
        try:
            while self.outbuf:
                n = self.sock.send(self.outbuf)
                self.outbuf = self.outbuf[n:]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.outbuf = b""
            self.eof = True

    def close(self):
        self.sock.close()


def connect_unix(path, proc, deadline):
    """Connect once QEMU has created the socket; give up if QEMU died."""
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
        if proc.poll() is not None:
            raise VmError(f"QEMU exited with status {proc.returncode} at startup")
        if time.monotonic() > deadline:
            raise VmError(f"cannot connect to {path}")
        time.sleep(0.02)


def qmp_handshake(sock, deadline):
    """Read the greeting and enter command mode, blocking, before the loop."""
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    buf = b""
    replies = 0
    sock.sendall(b'{"execute":"qmp_capabilities"}\n')
    try:
        while replies < 2:
            data = sock.recv(4096)
            if not data:
                raise VmError("QMP connection closed during the handshake")
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                msg = json.loads(line)
                if "error" in msg:
                    raise VmError(f"qmp_capabilities: {msg['error']}")
                if "QMP" in msg or "return" in msg:
                    replies += 1
    except socket.timeout:
        raise VmError("no QMP greeting") from None
    return buf


class QmpProxy:
    """Runs the guest's requests on the one QMP connection, in order.

    Replies go back to the guest in request order; QMP events are kept until
    the guest fetches them with {"execute":"vr-events"}.
    """

    def __init__(self, qmp, ctl, trace, host=None):
        self.qmp = qmp
        self.ctl = ctl
        self.trace = trace
        self.host = host
        self.events = []
        self.pending = collections.deque()

    def _trace(self, direction, obj):
        if self.trace:
            self.trace.write(f"{time.monotonic():.3f} {direction} "
                             f"{json.dumps(obj, separators=(',', ':'))}\n")
            self.trace.flush()

    def on_qmp(self, line):
        msg = json.loads(line)
        self._trace("<qmp", msg)
        if "event" in msg:
            self.events.append(msg)
            return
        for entry in self.pending:
            if entry["kind"] == "qmp" and entry["reply"] is None:
                entry["reply"] = msg
                break
        self._answer()

    def on_ctl(self, line):
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or not isinstance(req.get("execute"), str):
                raise ValueError("expected an object with \"execute\"")
        except ValueError as e:
            req = {"execute": "vr-invalid", "error": f"bad request {line!r}: {e}"}
        self._trace(">ctl", req)
        cmd = req["execute"]
        entry = {"kind": "local", "req": req, "reply": None}
        if cmd.startswith("vr-"):
            self.pending.append(entry)
        else:
            entry["kind"] = "qmp"
            self.pending.append(entry)
            self.qmp.send(req)
        self._answer()

    def _local_reply(self, req):
        cmd = req["execute"]
        if cmd == "vr-events":
            events, self.events = self.events, []
            return {"return": events}
        if cmd == "vr-time":
            return {"return": {"ms": round(time.monotonic() * 1000, 3)}}
        reply = self.host(req) if self.host and "error" not in req else None
        if reply is not None:
            return reply
        desc = req.get("error") or f"unknown command {cmd}"
        return {"error": {"class": "GenericError", "desc": desc}}

    def _answer(self):
        while self.pending:
            entry = self.pending[0]
            if entry["kind"] == "local":
                entry["reply"] = self._local_reply(entry["req"])
            elif entry["reply"] is None:
                return
            self.pending.popleft()
            reply = entry["reply"]
            if "id" in entry["req"] and "id" not in reply:
                reply = dict(reply, id=entry["req"]["id"])
            self._trace("<ctl", reply)
            self.ctl.send(reply)


# ---------------------------------------------------------------------------
# The console: rebuild lines, follow the markers, parse TAP

class ConsoleLines:
    """Split console bytes into lines, undoing printk's interleaving.

    The kernel writes its records straight to the UART, so one can land in
    the middle of a line the test is printing: "ok 5 hot[  1.000000] msg"
    then "plug". The text before the timestamp is kept and put in front of
    the next line that is not a kernel record. A TAP diagnostic ("# ...")
    may quote dmesg, so a timestamp inside one is left alone.
    """

    def __init__(self):
        self.partial = b""
        self.fragment = ""

    def feed(self, data):
        parts = re.split(rb"\r\n|\n|\r", self.partial + data)
        self.partial = parts.pop()
        lines = []
        for raw in parts:
            line = raw.decode(errors="replace")
            m = KERNEL_TS.search(line)
            if m and not line.lstrip().startswith("#"):
                self.fragment += line[:m.start()]
                lines.append(line[m.start():])
            elif line or self.fragment:
                # An empty line after a cut one is the test's own newline:
                # "TAP version 13[ 50.9] vr-test: ..." then "" then "1..6".
                lines.append(self.fragment + line)
                self.fragment = ""
        return lines


class Verdict:
    """What the console says about a test, line by line."""

    def __init__(self, out, allow_trace=None):
        self.out = out
        self.allow_trace = allow_trace
        self.trace_allowed = False
        self.ready = None
        self.uptime = None
        self.in_tap = False
        self.end_rc = None
        self.plan = None
        self.plan_skip = None
        self.results = []  # (status, text) with status pass/fail/skip
        self.kernel_bad = None
        self.init_failed = None
        self.kmemleak_scan = None  # when init.sh started its kmemleak scan
        self.kmemleak = None       # (reports, from vfio_reserve, unresolved, s)
        self.fragment = ""         # a test's line the kernel's cut short

    def line(self, line, now):
        # The console prints a kernel message (printk's own thread, from
        # 7.x) in the middle of a test's line: "1..11[ 65.2] vr-test: ...",
        # and the test's newline after it. What came before the timestamp
        # is the start of the test's line; the next line that is not the
        # kernel's ends it.
        m = KERNEL_TS.search(line)
        if m and m.start() > 0 and self.in_tap:
            self.fragment += line[:m.start()]
            line = line[m.start():]
        elif self.fragment and not m:
            line, self.fragment = self.fragment + line, ""
        is_kernel = KERNEL_TS.match(line) is not None
        if is_kernel and self.allow_trace:
            if self.allow_trace.search(line):
                self.trace_allowed = True
            elif KERNEL_BAD.search(line) and "Call Trace:" not in line:
                self.trace_allowed = False
        if (is_kernel or not self.in_tap) and KERNEL_BAD.search(line) and \
                not self.kernel_bad and \
                not (self.trace_allowed and "Call Trace:" in line and
                     not KERNEL_BAD.search(line.replace("Call Trace:", ""))):
            self.kernel_bad = line
        if is_kernel:
            return
        if line.startswith("VR-INIT-FAILED"):
            self.init_failed = line
        elif line.startswith("VR-KMEMLEAK-SCAN"):
            self.kmemleak_scan = now
        elif line.startswith("VR-KMEMLEAK-END"):
            f = dict(re.findall(r"(\w+)=([\d.]+)", line))
            self.kmemleak = (int(f.get("total", 0)), int(f.get("vfio_reserve", 0)),
                             int(f.get("unresolved", 0)), float(f.get("seconds", 0)))
            self.out(f"    # {line}")
        elif line.startswith("VR-KMEMLEAK:"):
            self.out(f"    # {line}")
        elif line.startswith("VR-READY"):
            self.ready = now
            m = re.search(r"uptime=([\d.]+)", line)
            self.uptime = float(m.group(1)) if m else None
        elif line == "VR-TAP-BEGIN":
            self.in_tap = True
        elif line.startswith("VR-TAP-END"):
            self.in_tap = False
            m = re.search(r"rc=(\d+)", line)
            self.end_rc = int(m.group(1)) if m else -1
        elif self.in_tap:
            self.tap_line(line)

    def tap_line(self, line):
        m_plan = TAP_PLAN.match(line)
        m_res = TAP_RESULT.match(line)
        if m_plan and self.plan is None:
            self.plan = int(m_plan.group(1))
            directive = m_plan.group(2) or ""
            if directive.upper().startswith("SKIP"):
                self.plan_skip = directive[4:].strip() or "skipped"
        elif m_res:
            ok, _, desc, directive = m_res.groups()
            directive = directive or ""
            if directive.upper().startswith("SKIP"):
                self.results.append(("skip", f"{desc}: {directive[4:].strip()}"))
            elif ok == "ok" or directive.upper().startswith("TODO"):
                self.results.append(("pass", desc))
            else:
                self.results.append(("fail", desc))
        elif not (line.startswith("#") or line.startswith("TAP version")
                  or line[:1].isspace()):
            line = "# " + line
        self.out(f"    {line}")

    def decide(self):
        """(status, reason) once the VM is gone; status is pass/fail/skip.
        The exit status is read before any SKIP: kselftest's exit 4 means
        "skipped" only for a test that passed nothing, and a test that
        printed SKIP lines and then exited 1 failed."""
        if self.kernel_bad:
            return "fail", f"kernel: {self.kernel_bad}"
        if self.kmemleak and self.kmemleak[1]:
            return "fail", (f"kmemleak: {self.kmemleak[1]} unreferenced object(s) "
                            "allocated by vfio_reserve")
        if self.init_failed:
            return "fail", self.init_failed
        if self.ready is None:
            return "fail", "guest never reached /init (no VR-READY)"
        if self.end_rc is None:
            return "fail", "test did not finish (no VR-TAP-END)"
        fails = [d for s, d in self.results if s == "fail"]
        if fails:
            return "fail", f"not ok: {fails[0]}"
        if self.end_rc not in (0, 4):
            return "fail", f"exit status {self.end_rc}"
        if self.plan is None:
            return "fail", "no TAP plan"
        passes = [d for s, d in self.results if s == "pass"]
        skips = [d for s, d in self.results if s == "skip"]
        if self.end_rc == 4:
            if passes:
                return "fail", (f"exit status 4 (skip) after {len(passes)} passed "
                                "test(s)")
            return "skip", self.plan_skip or (skips[0] if skips else "exit 4")
        if self.plan_skip and not self.results:
            return "skip", self.plan_skip
        if self.plan != len(self.results):
            return "fail", f"planned {self.plan} tests, ran {len(self.results)}"
        if skips and not passes:
            return "skip", skips[0]
        return "pass", ""


# ---------------------------------------------------------------------------
# One VM

class VmError(Exception):
    pass


def die_with_parent():
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


RUNNING = set()  # the QEMU processes of every VM running now


class Vm:
    def __init__(self, cfg, test, interactive=False):
        self.cfg = cfg
        self.test = test
        self.interactive = interactive
        name = test.name if test else "shell"
        self.logs = {kind: os.path.join(cfg.logdir, f"{name}{kind}")
                     for kind in (".log", ".qmp.log", ".qemu.log")}
        self.rundir = make_rundir(cfg.vmdir, name)
        self.proc = None
        self.socks = []
        self.started = time.monotonic()

    def start(self):
        qmp_sock = os.path.join(self.rundir, "qmp.sock")
        ctl_sock = os.path.join(self.rundir, "ctl.sock")
        console = None if self.interactive else self.logs[".log"]
        if console:
            open(console, "wb").close()
        argv = qemu_argv(self.cfg, self.test, qmp_sock, ctl_sock, console)
        with open(self.logs[".qemu.log"], "w") as f:
            f.write(shlex.join(argv) + "\n\n")
        self.stderr = open(self.logs[".qemu.log"], "a")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdin=None if self.interactive else subprocess.DEVNULL,
            stdout=None if self.interactive else subprocess.DEVNULL,
            stderr=self.stderr, preexec_fn=die_with_parent,
            start_new_session=not self.interactive)
        RUNNING.add(self.proc)
        deadline = self.started + 10
        qmp = connect_unix(qmp_sock, self.proc, deadline)
        self.socks.append(qmp)
        rest = qmp_handshake(qmp, deadline)
        ctl = connect_unix(ctl_sock, self.proc, deadline)
        self.socks.append(ctl)
        self.trace = open(self.logs[".qmp.log"], "w")
        self.qmp = LineSocket(qmp)
        self.qmp.inbuf = rest
        self.ctl = LineSocket(ctl)
        self.proxy = QmpProxy(self.qmp, self.ctl, self.trace, self.host_command)

    def host_command(self, req):
        """The guest's requests the host runs itself (vr-mkinitramfs,
        vr-boot-initramfs)."""
        run = {"vr-mkinitramfs": host_mkinitramfs,
               "vr-boot-initramfs": host_boot_initramfs}.get(req["execute"])
        if not run:
            return None
        t0 = time.monotonic()
        try:
            ret = run(self.cfg, self.rundir, req.get("arguments"))
        except (ValueError, OSError, subprocess.SubprocessError) as e:
            return {"error": {"class": "GenericError", "desc": f"{req['execute']}: {e}"}}
        return {"return": dict(ret, seconds=round(time.monotonic() - t0, 1))}

    def pump(self, timeout):
        """Serve QMP and the control channel for up to timeout seconds."""
        conns = [c for c in (self.qmp, self.ctl) if not c.eof]
        wconns = [c for c in conns if c.outbuf]
        try:
            readable, writable, _ = select.select(conns, wconns, [], timeout)
        except InterruptedError:
            return
        for conn in writable:
            conn.flush()
        for conn in readable:
            for line in conn.read_lines():
                try:
                    if conn is self.qmp:
                        self.proxy.on_qmp(line)
                    else:
                        self.proxy.on_ctl(line)
                except ValueError as e:
                    log(f"bad JSON from {'QMP' if conn is self.qmp else 'guest'}: {e}")

    def quit(self):
        if self.proc and self.proc.poll() is None and not self.qmp.eof:
            self.qmp.send({"execute": "quit", "id": "vr-quit"})

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        RUNNING.discard(self.proc)
        for sock in self.socks:
            sock.close()
        for f in (getattr(self, "trace", None), getattr(self, "stderr", None)):
            if f:
                f.close()
        shutil.rmtree(self.rundir, ignore_errors=True)

    def remove_logs(self):
        for path in self.logs.values():
            if os.path.exists(path):
                os.unlink(path)


# What vr-mkinitramfs takes from the guest: its initramfs-tools configuration
# and modprobe.d, the files persist and unpersist change.
MKINITRAMFS_DIRS = ("etc/initramfs-tools/", "etc/modprobe.d/")
MKINITRAMFS_TIMEOUT = 300
MKINITRAMFS_SCRIPT = r"""set -e
mount --make-rprivate /
mount --bind "$1" /lib/modules
mount --bind "$2/etc/modprobe.d" /etc/modprobe.d
if [ -n "$5" ]; then
	mount -t tmpfs vr-boot /boot
	cp "$5" "/boot/config-$4"
fi
exec mkinitramfs -d "$2/etc/initramfs-tools" -o "$3" "$4"
"""


def host_mkinitramfs(cfg, rundir, args):
    """vr-mkinitramfs: Debian's mkinitramfs for the guest, on the host's CPU.

    update-initramfs inside the TCG guest takes some 450 s; natively the
    same generator takes seconds. The guest sends its /etc/initramfs-tools
    and /etc/modprobe.d as {"files": [{"path", "mode", "text"}...]};
    mkinitramfs runs in a private mount namespace where those, and
    /lib/modules (the guest's tree, the module under test in it), are the
    guest's. The image lands in the VM's run directory, which the guest
    reads over 9p; the path is returned.
    """
    files = (args or {}).get("files")
    if not isinstance(files, list) or not files:
        raise ValueError('expected {"files": [{"path", "mode", "text"}, ...]}')
    work = tempfile.mkdtemp(prefix="mkinitramfs.", dir=rundir)
    for d in MKINITRAMFS_DIRS:
        os.makedirs(os.path.join(work, d), exist_ok=True)
    for f in files:
        rel = f.get("path") if isinstance(f, dict) else None
        if not isinstance(rel, str) or not rel.startswith(MKINITRAMFS_DIRS) or \
                ".." in rel.split("/") or not isinstance(f.get("text"), str) or \
                not isinstance(f.get("mode"), int):
            raise ValueError(f"bad file {f!r}: path under {' or '.join(MKINITRAMFS_DIRS)}, "
                             "mode and text required")
        path = os.path.join(work, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as out:
            out.write(f["text"])
        os.chmod(path, f["mode"] & 0o755)
    image = os.path.join(work, "initrd.img")
    # A kernel not installed in /boot (the matrix's 7.x): its config, which
    # mkinitramfs reads, is kept beside the image (build-kernel.sh).
    config = "" if os.path.exists(f"/boot/config-{cfg.kver}") else \
        os.path.join(os.path.dirname(cfg.kernel), "config")
    p = subprocess.run(
        ["unshare", "-m", "sh", "-c", MKINITRAMFS_SCRIPT, "vr-mkinitramfs",
         os.path.join(cfg.modroot, "lib", "modules"), work, image, cfg.kver, config],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        timeout=MKINITRAMFS_TIMEOUT)
    if p.returncode:
        out = p.stdout.decode(errors="replace").strip().splitlines()
        raise ValueError(f"mkinitramfs exited {p.returncode}: " + " | ".join(out[-5:]))
    return {"path": image}


# What vr-boot-initramfs lets the guest choose of the QEMU it starts: the
# machine, memory, devices and their backends, the console (options that
# take a value), and two flags; the accelerator, kernel and initramfs are
# the host's.
BOOT_INITRAMFS_OPTIONS = {"-M", "-m", "-device", "-netdev", "-serial", "-display", "-cpu"}
BOOT_INITRAMFS_FLAGS = {"-nodefaults", "-no-reboot"}
BOOT_INITRAMFS_TIMEOUT = 300


def host_boot_initramfs(cfg, rundir, args):
    """vr-boot-initramfs: boot the VM's kernel with an initramfs the host made
    for it (vr-mkinitramfs), in a QEMU of the host's (TCG), and type commands
    at its shell (expect-initramfs.py: boot with break=premount).

    A guest nested in the TCG test VM takes some 600 s to get there; on the
    host's CPU it takes seconds. Takes {"initrd": a vr-mkinitramfs path,
    "qemu": [options], "append": the kernel command line, "look": the
    commands, "timeout": seconds}; returns {"path": the console output (in
    the run directory, which the guest reads over 9p), "status":
    expect-initramfs.py's exit status}.
    """
    a = args if isinstance(args, dict) else {}
    initrd, opts, append, look, timeout = (a.get(k) for k in ("initrd", "qemu", "append", "look", "timeout"))
    if not isinstance(initrd, str) or \
            os.path.dirname(os.path.dirname(os.path.realpath(initrd))) != os.path.realpath(rundir):
        raise ValueError(f"initrd {initrd!r}: not an image vr-mkinitramfs made for this VM")
    if not isinstance(append, str) or not isinstance(look, str) or \
            not isinstance(timeout, (int, float)) or not 0 < timeout <= BOOT_INITRAMFS_TIMEOUT:
        raise ValueError(f"append and look (strings), timeout (at most {BOOT_INITRAMFS_TIMEOUT} s) required")
    if not isinstance(opts, list) or not all(isinstance(o, str) for o in opts):
        raise ValueError("qemu: a list of strings")
    i = 0
    while i < len(opts):
        if opts[i] in BOOT_INITRAMFS_OPTIONS and i + 1 < len(opts):
            i += 2
        elif opts[i] in BOOT_INITRAMFS_FLAGS:
            i += 1
        else:
            raise ValueError(f"qemu option {opts[i]!r}: not one the guest may choose "
                             f"({' '.join(sorted(BOOT_INITRAMFS_OPTIONS | BOOT_INITRAMFS_FLAGS))})")
    out = os.path.join(os.path.dirname(initrd), "boot.out")
    with open(out, "wb") as f:
        p = subprocess.run(
            [sys.executable, os.path.join(TOP, "selftests", "vm", "expect-initramfs.py"),
             str(timeout), look, "--", cfg.qemu, "-accel", "tcg", *opts,
             "-kernel", cfg.kernel, "-initrd", initrd, "-append", append],
            stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
            timeout=timeout + 30)
    return {"path": out, "status": p.returncode}


# The compressed kernel inside a bzImage: magic, decompressor.
PAYLOAD_FORMATS = (
    (b"\xfd7zXZ\x00", ["xz", "-dc"]),
    (b"\x28\xb5\x2f\xfd", ["zstd", "-dcq"]),
    (b"\x1f\x8b", ["gzip", "-dc"]),
)
XEN_ELFNOTE_PHYS32_ENTRY = 18


def has_pvh_entry(elf):
    """Whether an ELF64 kernel has the PVH entry note QEMU boots it by."""
    if elf[:5] != b"\x7fELF\x02":
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        ptype, _, offset, _, _, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if ptype != 4:  # PT_NOTE
            continue
        pos, end = offset, offset + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def pvh_kernel(vmdir, bzimage):
    """The bzImage's own vmlinux, for QEMU's PVH entry: the guest starts
    with no decompression under TCG (its share of each boot) and no
    real-mode setup. Cached in vmdir/pvh/ beside a stamp of the bzImage.
    None when the payload's format is unknown or the kernel lacks the PVH
    note (CONFIG_PVH): the bzImage is booted then."""
    st = os.stat(bzimage)
    key = [os.path.realpath(bzimage), st.st_size, st.st_mtime]
    out = os.path.join(vmdir, "pvh", os.path.basename(bzimage) + ".vmlinux")
    stamp = out + ".stamp"
    state = read_json(stamp)
    if state is not None and state.get("key") == key:
        return out if state.get("pvh") and os.path.exists(out) else None
    with open(bzimage, "rb") as f:
        image = f.read()
    elf = None
    if len(image) > 0x250 and image[0x202:0x206] == b"HdrS":
        setup_sects = image[0x1f1] or 4
        offset, length = struct.unpack_from("<II", image, 0x248)
        # The build appends the uncompressed size (4 bytes) to the payload.
        payload = image[(setup_sects + 1) * 512 + offset:][:length][:-4]
        for magic, cmd in PAYLOAD_FORMATS:
            if payload.startswith(magic) and shutil.which(cmd[0]):
                p = subprocess.run(cmd, input=payload, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
                elf = p.stdout if p.returncode == 0 else None
                break
    pvh = bool(elf) and has_pvh_entry(elf)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if pvh:
        with open(out + ".tmp", "wb") as f:
            f.write(elf)
        os.replace(out + ".tmp", out)
    write_json(stamp, {"key": key, "pvh": pvh})
    return out if pvh else None


def make_rundir(vmdir, name):
    """A directory for the sockets, short enough for sun_path (108 bytes)."""
    base = os.path.join(vmdir, "run")
    os.makedirs(base, exist_ok=True)
    path = tempfile.mkdtemp(prefix=f"{name[:20]}.", dir=base)
    if len(os.path.join(path, "qmp.sock")) < 100:
        return path
    os.rmdir(path)
    return tempfile.mkdtemp(prefix="vr-vm.")


def tail(path, n):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return []
    return [line.rstrip("\r") for line in lines[-n:]]


class Result:
    def __init__(self, status, reason, boot, total, uptime=None, vm=None, tail=(),
                 kmemleak=None, started=True):
        self.status, self.reason = status, reason
        self.started = started  # False: skipped before any VM booted
        self.boot, self.total, self.uptime = boot, total, uptime
        self.vm, self.tail = vm, list(tail)
        self.kmemleak = kmemleak


def watch(vm, test, verdict):
    """Follow the console until QEMU exits; False on timeout, or when the
    guest has not reached /init within Test.boot_timeout (--boot-timeout,
    or BOOT_TIMEOUT times the timeout factor): a stalled boot is given up
    early, not at the end of the test's whole timeout, and run_tests boots
    it once more."""
    lines = ConsoleLines()
    deadline = vm.started + test.timeout
    boot_deadline = vm.started + min(test.timeout, Test.boot_timeout)
    quit_at = None
    scan_seen = scan_done = False
    with open(vm.logs[".log"], "rb") as console:
        while vm.proc.poll() is None:
            vm.pump(0.05)
            now = time.monotonic()
            for line in lines.feed(console.read()):
                verdict.line(line, now)
            if verdict.end_rc is not None and quit_at is None:
                quit_at = now + POWEROFF_GRACE
            if verdict.kmemleak_scan and not scan_seen:
                # the scan runs after the test: it gets its own time
                scan_seen = True
                deadline = max(deadline, now + KMEMLEAK_GRACE)
                if quit_at != float("inf"):
                    quit_at = now + KMEMLEAK_GRACE
            if verdict.kmemleak and not scan_done:
                # the last thing the guest reports: its power-off (seconds
                # on a debug kernel) is not waited for
                scan_done = True
                if quit_at != float("inf"):
                    quit_at = now
            if quit_at and now > quit_at:
                vm.quit()  # the guest did not power off; stop() kills if need be
                quit_at = float("inf")
            if now > deadline or (verdict.ready is None and now > boot_deadline):
                return False
        for line in lines.feed(console.read() + b"\n"):
            verdict.line(line, time.monotonic())
    return True


def run_test(cfg, test, out):
    vm = Vm(cfg, test)
    verdict = Verdict(out, test.allow_trace)
    try:
        vm.start()
        finished = watch(vm, test, verdict)
        status, reason = verdict.decide()
        if not finished and verdict.ready is None:
            status, reason = "fail", (f"no /init after {time.monotonic() - vm.started:.0f} s "
                                      "(the boot stalled)")
        elif not finished:
            status, reason = "fail", f"timeout after {test.timeout} s"
        elif status == "fail" and verdict.end_rc is None and vm.proc.returncode:
            reason += f"; QEMU exit status {vm.proc.returncode}"
    except VmError as e:
        status, reason = "fail", str(e)
    finally:
        vm.stop()
    total = time.monotonic() - vm.started
    boot = verdict.ready - vm.started if verdict.ready else None
    lines = []
    if status == "fail":
        lines = tail(vm.logs[".log"], 30 if reason.startswith("timeout") else 40)
        if verdict.ready is None:
            lines += ["-- QEMU stderr:"] + tail(vm.logs[".qemu.log"], 20)
    return Result(status, reason, boot, total, verdict.uptime, vm, lines,
                  verdict.kmemleak)


def run_shell(cfg, test):
    vm = Vm(cfg, test, interactive=True)
    try:
        vm.start()
        print("# vm: console on this terminal; Ctrl-A X quits QEMU", file=sys.stderr)
        while vm.proc.poll() is None:
            vm.pump(0.2)
    finally:
        vm.stop()
    return 0


# ---------------------------------------------------------------------------

class Config:
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Run vfio-reserve VM tests (one QEMU VM per test file).")
    p.add_argument("tests", nargs="*", metavar="TEST.sh")
    p.add_argument("--ko", help="module to test (default: ./vfio_reserve.ko at the "
                   "repository top, if it exists)")
    p.add_argument("--kver", help="kernel to boot (default: the module's vermagic)")
    p.add_argument("--kernel", metavar="IMAGE",
                   help="kernel image to boot (default: /boot/vmlinuz-KVER)")
    p.add_argument("--moddir", metavar="DIR",
                   help="the kernel's module directory, what /lib/modules/KVER is "
                   "for an installed kernel (default: /lib/modules/KVER; with it "
                   "KVER defaults to the module's vermagic, else DIR's name)")
    p.add_argument("--no-pvh", action="store_true",
                   help="boot the bzImage itself, not its vmlinux through QEMU's "
                   "PVH entry (the default when the kernel has CONFIG_PVH)")
    p.add_argument("--timeout-factor", type=float, default=1.0, metavar="F",
                   help="multiply every test's vm-timeout by F (slow kernels)")
    p.add_argument("--timeout", type=int, metavar="S",
                   help="every test's timeout is S seconds, whatever its vm-timeout "
                   "says (before --timeout-factor)")
    p.add_argument("--boot-timeout", type=float, metavar="S",
                   help="give a guest that has not reached /init after S seconds "
                   f"up as stalled and boot it once more (default: {BOOT_TIMEOUT} "
                   "times --timeout-factor)")
    p.add_argument("--deadline", type=float, metavar="EPOCH",
                   help="start a test only if its whole timeout ends before this "
                   "time (seconds since the epoch); the others are reported as "
                   "skipped (a time budget, such as CI's)")
    p.add_argument("--append", action="append", default=[], metavar="ARGS",
                   help="kernel command line arguments for every test (may repeat)")
    p.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("VR_VM_JOBS", "1")),
                   metavar="N", help="run N VMs at once (default: VR_VM_JOBS, else 1); "
                   "a test that fails beside others is run again alone")
    p.add_argument("--iommu", choices=sorted(IOMMU_DEVICES), default="intel",
                   help="the emulated IOMMU: intel (VT-d, default) or amd (AMD-Vi)")
    p.add_argument("--build", help="build directory (default: build/ at the top)")
    p.add_argument("--qemu", default="qemu-system-x86_64", help="QEMU binary")
    p.add_argument("--keep-logs", action="store_true",
                   help="keep the logs of tests that pass or skip, too")
    p.add_argument("--shell", "--interactive", action="store_true", dest="shell",
                   help="boot one VM with a shell on this terminal "
                   "(with TEST.sh: run it first)")
    args = p.parse_args(argv)
    if not args.tests and not args.shell:
        p.error("name at least one TEST.sh (or --shell)")
    if args.shell and len(args.tests) > 1:
        p.error("--shell takes at most one TEST.sh")
    return args


def check_guest_visible(path, what):
    """The guest sees the host's / through 9p, minus what it covers."""
    if re.search(r"\s", path):
        die(f"{what} {path}: whitespace cannot cross the kernel command line")
    for d in ("/proc", "/sys", "/dev"):
        if path == d or path.startswith(d + "/"):
            die(f"{what} {path} is under {d}, which the guest replaces")


def configure(args):
    cfg = Config()
    cfg.shell = args.shell
    ko = args.ko or os.path.join(TOP, MODULE_NAME + ".ko")
    if os.path.exists(ko):
        cfg.ko = os.path.abspath(ko)
    elif args.ko:
        die(f"--ko {args.ko}: no such file")
    else:
        cfg.ko = None
        log(f"warning: {os.path.relpath(ko)} not built: the guest gets no "
            f"{MODULE_NAME} module (tests that need it skip)")
    ko_kver = ko_vermagic_kver(cfg.ko) if cfg.ko else None
    cfg.moddir = os.path.abspath(args.moddir) if args.moddir else None
    cfg.kver = args.kver or ko_kver or \
        (os.path.basename(cfg.moddir.rstrip("/")) if cfg.moddir else None) or \
        newest_installed_kver()
    if ko_kver and ko_kver != cfg.kver:
        log(f"warning: {os.path.relpath(cfg.ko)} is built for {ko_kver}, "
            f"not {cfg.kver}: it will not load")
    cfg.kernel = os.path.abspath(args.kernel) if args.kernel else \
        f"/boot/vmlinuz-{cfg.kver}"
    cfg.boot_kernel = cfg.kernel
    cfg.pvh = not args.no_pvh
    if not os.access(cfg.kernel, os.R_OK):
        die(f"cannot read {cfg.kernel} (install the kernel image, run as a user "
            f"that can read it, or pass --kver or --kernel)")
    host_moddir = cfg.moddir or f"/lib/modules/{cfg.kver}"
    if not os.path.isdir(host_moddir):
        die(f"{host_moddir} missing")
    Test.timeout_factor = args.timeout_factor
    Test.timeout_override = args.timeout
    Test.boot_timeout = args.boot_timeout or BOOT_TIMEOUT * args.timeout_factor
    cfg.deadline = args.deadline
    cfg.iommu = args.iommu
    cfg.append = [a for arg in args.append for a in shlex.split(arg)]
    cfg.qemu = find_tool(args.qemu)
    build = os.path.abspath(args.build or os.path.join(TOP, "build"))
    cfg.vmdir = os.path.join(build, "vm")
    cfg.logdir = os.path.join(cfg.vmdir, "logs")
    cfg.modroot = os.path.join(cfg.vmdir, "modroot")
    cfg.initramfs = os.path.join(cfg.vmdir, "initramfs.cpio.gz")
    cfg.keep_logs = args.keep_logs
    check_guest_visible(TOP, "repository")
    check_guest_visible(cfg.vmdir, "build directory")
    check_guest_visible(cfg.kernel, "kernel image")  # nested guests boot it
    for t in args.tests:
        check_guest_visible(os.path.abspath(t), "test")
    return cfg


def prepare(cfg):
    lock_build_dir(cfg.vmdir)
    # Under the lock, sockets left by a runner that was killed are stale.
    shutil.rmtree(os.path.join(cfg.vmdir, "run"), ignore_errors=True)
    os.makedirs(cfg.logdir, exist_ok=True)
    ModRoot(cfg.vmdir, cfg.kver, cfg.ko, cfg.moddir).prepare()
    Initramfs(cfg.vmdir, cfg.kver, cfg.moddir).prepare()
    if cfg.pvh:
        cfg.boot_kernel = pvh_kernel(cfg.vmdir, cfg.kernel) or cfg.kernel


def interrupt(signum, frame):
    raise KeyboardInterrupt


def fmt_seconds(value):
    return "-" if value is None else f"{value:.1f}s"


def report(out, n, name, result, keep_logs):
    """The kselftest-style lines for one test file."""
    if result.status == "pass":
        out(f"ok {n} vm:{name}")
    elif result.status == "skip":
        out(f"ok {n} vm:{name} # SKIP {result.reason}")
    else:
        out(f"not ok {n} vm:{name} # {result.reason}")
    uptime = f", guest uptime {result.uptime:.1f}s" if result.uptime else ""
    out(f"# {name}: boot {fmt_seconds(result.boot)} (guest /init reached{uptime}), "
        f"total {fmt_seconds(result.total)}")
    if result.kmemleak:
        total, ours, unresolved, secs = result.kmemleak
        out(f"# {name}: kmemleak {total} unreferenced object(s), {ours} from "
            f"vfio_reserve, {unresolved} from unloaded modules (scan {secs:.0f}s)")
    for line in result.tail:
        out(f"# | {line}")
    if result.vm is None:
        return
    if result.status == "fail" or keep_logs:
        out(f"# {name}: logs in {os.path.relpath(result.vm.logs['.log'])}")
    else:
        result.vm.remove_logs()


def test_timeout(path):
    try:
        return Test(path).timeout
    except (OSError, ValueError):
        return 0


def run_one(cfg, path, jobs, live=None):
    """Run one test file; (name, Result, [output lines], attempts). With
    live, the test's lines go there as they come instead of to the list."""
    name = re.sub(r"\.sh$", "", os.path.basename(path))
    lines = []
    out = live or lines.append
    attempts = []
    try:
        test = Test(path)
        left = cfg.deadline - time.time() if cfg.deadline else None
        if left is not None and left < test.timeout:
            return name, Result("skip", f"not started: its timeout ({test.timeout} s) does "
                                f"not fit in the {max(left, 0):.0f} s left of the time "
                                "budget", None, 0.0, started=False), lines, attempts
        result = run_test(cfg, test, out)
        if result.status == "fail" and result.boot is None and \
                (not cfg.deadline or cfg.deadline - time.time() >= test.timeout):
            # The kernel stalled before /init (seen under heavy host
            # load with TCG): nothing of the project ran yet. Once more.
            out(f"# {name}: the guest never reached /init ({result.reason}); "
                "booting it once more")
            attempts.append(result)
            result = run_test(cfg, test, out)
    except (OSError, ValueError) as e:
        result = Result("fail", f"{path}: {e}", None, 0.0)
    if jobs > 1:
        log(f"{name}: {result.status} in {result.total:.0f} s")
    return name, result, lines, attempts


def main(argv):
    args = parse_args(argv)
    cfg = configure(args)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    prepare(cfg)
    if args.shell:
        return run_shell(cfg, Test(args.tests[0]) if args.tests else None)

    out = lambda s: print(s, flush=True)
    results_path = os.path.join(cfg.vmdir, "results.txt")
    open(results_path, "w").close()
    started = time.monotonic()
    counts = collections.Counter()
    out("TAP version 13")
    out(f"1..{len(args.tests)}")
    jobs = max(1, args.jobs)
    done = {}
    try:
        if jobs == 1:
            for n, path in enumerate(args.tests, 1):
                name = re.sub(r"\.sh$", "", os.path.basename(path))
                out(f"# selftests: vm: {name}")
                done[n] = run_one(cfg, path, 1, out)
                finish(cfg, out, n, done[n], counts, results_path, None)
        else:
            # Several VMs at once: each test's lines are printed, in order,
            # when it is done. A test that fails beside others is run once
            # more alone, and both outcomes are reported.
            # Longest first (by vm-timeout), so that a long test does not
            # end the run alone.
            order = sorted(enumerate(args.tests, 1),
                           key=lambda item: -test_timeout(item[1]))
            with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
                futures = {pool.submit(run_one, cfg, path, jobs): n
                           for n, path in order}
                for fut in concurrent.futures.as_completed(futures):
                    done[futures[fut]] = fut.result()
            for n, path in enumerate(args.tests, 1):
                name = done[n][0]
                out(f"# selftests: vm: {name}")
                first = None
                if done[n][1].status == "fail":
                    first = done[n]
                    left = cfg.deadline - time.time() if cfg.deadline else None
                    if left is None or left >= Test(path).timeout:
                        log(f"{name}: failed beside other VMs; running it alone")
                        done[n] = run_one(cfg, path, 1)
                    else:
                        first = None
                finish(cfg, out, n, done[n], counts, results_path, first)
    except KeyboardInterrupt:
        out("not ok - vm: interrupted")
        for proc in list(RUNNING):
            proc.kill()
        sys.stdout.flush()
        os._exit(130)  # the pool's threads would wait for their VMs
    out(f"# Totals: pass:{counts['pass']} fail:{counts['fail']} xfail:0 xpass:0 "
        f"skip:{counts['skip']} error:0")
    if counts["rerun"]:
        out(f"# vm: {counts['rerun']} test(s) failed beside other VMs and were run "
            "again alone (see their lines)")
    out(f"# vm: {len(args.tests)} tests, -j{jobs}, wall {time.monotonic() - started:.0f} s")
    return 1 if counts["fail"] else 0


def finish(cfg, out, n, entry, counts, results_path, first):
    """Print one test's lines and result; count it."""
    name, result, lines, attempts = entry
    if first is not None:
        for line in first[2]:
            out(line)
        out(f"# {name}: FAILED beside other VMs ({first[1].reason}); "
            f"total {fmt_seconds(first[1].total)}; the lone re-run decides:")
        for line in first[1].tail:
            out(f"# | {line}")
        if first[1].vm is not None:
            out(f"# {name}: logs of that run were replaced by the re-run's")
        counts["rerun"] += 1
    for line in lines:
        out(line)
    if not result.started:
        out(f"ok {n} vm:{name} # SKIP {result.reason}")
    else:
        report(out, n, name, result, cfg.keep_logs)
    counts[result.status] += 1
    with open(results_path, "a") as f:
        f.write(f"{result.status} {name} {result.total:.1f}"
                f"{' rerun' if first is not None else ''}\n")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
