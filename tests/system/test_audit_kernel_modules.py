"""kernel-modules on fixture trees: kernel.modules_disabled (BP-028 v2.0
R10) and, for each module of the unused file systems and protocols (CIS
Debian 12 1.1.1.x, 3.2.x), disabled by "install NAME /bin/false" (OK),
loadable (FAIL; overlay, squashfs, usb-storage WARN), only blacklisted,
loaded, built in, not shipped by this kernel (OK) and no /lib/modules to
tell (a container: SKIP); then on this machine, as-is and as nobody."""

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "kernel-modules"
REL = "6.1.0-13-amd64"

# CHECK-ID: (module file name, status when it can be loaded)
MODULES = {
    "modules.fs.cramfs": ("cramfs", "FAIL"),
    "modules.fs.freevxfs": ("freevxfs", "FAIL"),
    "modules.fs.hfs": ("hfs", "FAIL"),
    "modules.fs.hfsplus": ("hfsplus", "FAIL"),
    "modules.fs.jffs2": ("jffs2", "FAIL"),
    "modules.fs.udf": ("udf", "FAIL"),
    "modules.fs.overlay": ("overlay", "WARN"),
    "modules.fs.squashfs": ("squashfs", "WARN"),
    "modules.usb-storage": ("usb-storage", "WARN"),
    "modules.net.dccp": ("dccp", "FAIL"),
    "modules.net.tipc": ("tipc", "FAIL"),
    "modules.net.rds": ("rds", "FAIL"),
    "modules.net.sctp": ("sctp", "FAIL"),
}


def kernel(fx, disabled="0", shipped=True, loaded=(), builtin=(),
           filesystems=("ext4",)):
    fx.sysctl({"kernel.modules_disabled": disabled,
               "kernel.osrelease": REL})
    fx.file("proc/modules", "".join(
        "%s 16384 0 - Live 0x0000000000000000\n" % m.replace("-", "_")
        for m in loaded))
    fx.file("proc/filesystems", "".join("\t%s\n" % f for f in filesystems))
    fx.file("proc/net/protocols", "protocol  size sockets\nTCP 2400 3\n")
    base = "lib/modules/%s/" % REL
    if shipped:
        for name, _ in MODULES.values():
            if name not in builtin:
                fx.file(base + "kernel/extra/%s.ko.xz" % name, "")
    if shipped or builtin:
        fx.file(base + "modules.builtin", "".join(
            "kernel/fs/%s/%s.ko\n" % (b, b) for b in builtin))


def disable_all(fx, blacklist=True):
    text = ""
    for name, _ in MODULES.values():
        text += "install %s /bin/false\n" % name
        if blacklist:
            text += "blacklist %s\n" % name
    fx.file("etc/modprobe.d/cis.conf", text)


def test_compliant(fx):
    kernel(fx, disabled="1")
    disable_all(fx)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("modules.disabled", "OK", r"^kernel.modules_disabled = 1$")
    for c in MODULES:
        r.expect(c, "OK")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_install_false_with_loading_allowed(fx):
    kernel(fx, disabled="0")
    disable_all(fx)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("modules.disabled", "FAIL", r"= 0 \(expected 1")
    for c, (name, _) in MODULES.items():
        r.expect(c, "OK", r"^%s cannot be loaded \(install /bin/false, "
                 r"blacklisted\)$" % name)
    assert [c for c, _ in r.with_status("FAIL")] == ["modules.disabled"]


def test_loadable(fx):
    kernel(fx)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    for c, (name, level) in MODULES.items():
        r.expect(c, level, r"^%s can be loaded: not disabled" % name)


@pytest.mark.parametrize("check", sorted(MODULES))
def test_one_module_loadable(fx, check):
    kernel(fx, disabled="0")
    name, level = MODULES[check]
    disable_all(fx)
    text = fx.path("etc/modprobe.d/cis.conf").read_text()
    # dashes and underscores are one in module names
    other = name.replace("-", "_") if "-" in name else name
    fx.file("etc/modprobe.d/cis.conf", text.replace(
        "install %s /bin/false\n" % name, "install %s /bin/sh\n" % other))
    r = auditpack.run(S, fx)
    r.expect(check, level, r"install runs /bin/sh, not /bin/false")
    assert [c for c, _ in r.with_status(level)
            if c != "modules.disabled"] == [check], r


def test_blacklist_only_and_loaded(fx):
    kernel(fx, loaded=("cramfs", "usb-storage"))
    fx.file("etc/modprobe.d/blacklist.conf",
            "blacklist udf\n# install hfs /bin/false\n"
            "install cramfs /bin/false\n")
    fx.file("usr/lib/modprobe.d/usb.conf", "install usb_storage /bin/true\n")
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("modules.fs.udf", "FAIL", r"only blacklisted \(modprobe udf "
             r"still loads it\)")
    r.expect("modules.fs.hfs", "FAIL", r"can be loaded: not disabled")
    # loaded now: a FAIL whatever the configuration says
    r.expect("modules.fs.cramfs", "FAIL", r"^cramfs is loaded now")
    r.expect("modules.usb-storage", "FAIL", r"^usb-storage is loaded now")


def test_built_in(fx):
    kernel(fx, builtin=("hfs",), filesystems=("ext4", "cramfs"))
    disable_all(fx)
    r = auditpack.run(S, fx)
    r.expect("modules.fs.hfs", "WARN", r"built into the kernel")
    r.expect("modules.fs.cramfs", "FAIL", r"/proc/filesystems lists cramfs")
    r.expect("modules.fs.udf", "OK")


def test_not_shipped_by_this_kernel(fx):
    kernel(fx, shipped=False)
    fx.dir("lib/modules/%s/kernel" % REL)
    r = auditpack.run(S, fx)
    for c, (name, _) in MODULES.items():
        r.expect(c, "OK", r"^%s is not available in this kernel" % name)
    r.expect("modules.disabled", "FAIL", rc=1)


def test_kernel_without_modules(fx):
    fx.dir("proc/sys/kernel")
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("modules.disabled", "OK", r"without loadable modules")
    for c in MODULES:
        r.expect(c, "OK", r"no loadable module support")


def test_container_without_lib_modules(fx):
    kernel(fx, shipped=False)
    r = auditpack.run(S, fx)
    for c in MODULES:
        r.expect(c, "SKIP", r"no /lib/modules/%s" % REL)
    r.expect("modules.disabled", "FAIL", rc=1)


def test_no_proc(fx):
    r = auditpack.run(S, fx)
    r.expect("modules.disabled", "SKIP", r"not present", rc=2)


test_this_machine = auditpack.host_test(
    S, set(MODULES) | {"modules.disabled"})
