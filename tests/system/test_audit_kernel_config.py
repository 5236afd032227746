"""kernel-config on fixture trees (ROOT/boot/config-RELEASE or
ROOT/proc/config.gz): every build option of ANSSI BP-028 v2.0 R15-R27,
for x86_64, x86 32-bit, ARM and ARM64, compliant (OK), non-compliant
(FAIL), absent (compliant when it should be off, SKIP when it should be
on), the options that replaced old ones in newer kernels, a kernel without
modules, no configuration at all (exit 2); then on this machine.

The options are written here from the guide, independently of the
script."""

import gzip

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "kernel-config"
REL = "6.1.0-13-amd64"

# option: (compliant value, non-compliant value); "n" is "is not set"
COMMON = {
    "STRICT_KERNEL_RWX": ("y", "n"), "DEBUG_WX": ("y", "n"),
    "DEBUG_FS": ("n", "y"), "STACKPROTECTOR": ("y", "n"),
    "STACKPROTECTOR_STRONG": ("y", "n"), "SCHED_STACK_END_CHECK": ("y", "n"),
    "HARDENED_USERCOPY": ("y", "n"), "HARDENED_USERCOPY_FALLBACK": ("n", "y"),
    "VMAP_STACK": ("y", "n"), "REFCOUNT_FULL": ("y", "n"),
    "FORTIFY_SOURCE": ("y", "n"), "ACPI_CUSTOM_METHOD": ("n", "m"),
    "DEVKMEM": ("n", "y"), "PROC_KCORE": ("n", "y"),
    "COMPAT_VDSO": ("n", "y"), "SECURITY_DMESG_RESTRICT": ("y", "n"),
    "DEBUG_CREDENTIALS": ("y", "n"), "DEBUG_NOTIFIERS": ("y", "n"),
    "DEBUG_LIST": ("y", "n"), "DEBUG_SG": ("y", "n"),
    "BUG_ON_DATA_CORRUPTION": ("y", "n"), "SLUB": ("y", "n"),
    "SLAB_FREELIST_RANDOM": ("y", "n"), "SLAB_FREELIST_HARDENED": ("y", "n"),
    "SLAB_MERGE_DEFAULT": ("n", "y"), "SLUB_DEBUG": ("y", "n"),
    "PAGE_POISONING": ("y", "n"), "PAGE_POISONING_NO_SANITY": ("n", "y"),
    "PAGE_POISONING_ZERO": ("n", "y"), "COMPAT_BRK": ("n", "y"),
    "STRICT_MODULE_RWX": ("y", "n"), "MODULE_SIG": ("y", "n"),
    "MODULE_SIG_FORCE": ("y", "n"), "MODULE_SIG_ALL": ("y", "n"),
    "MODULE_SIG_SHA512": ("y", "n"), "MODULE_SIG_HASH": ('"sha512"',
                                                         '"sha256"'),
    "BUG": ("y", "n"), "PANIC_ON_OOPS": ("y", "n"),
    "PANIC_TIMEOUT": ("-1", "0"), "SECCOMP": ("y", "n"),
    "SECCOMP_FILTER": ("y", "n"), "SECURITY": ("y", "n"),
    "SECURITY_YAMA": ("y", "n"), "SECURITY_WRITABLE_HOOKS": ("n", "y"),
    "GCC_PLUGIN_LATENT_ENTROPY": ("y", "n"),
    "GCC_PLUGIN_STACKLEAK": ("y", "n"), "GCC_PLUGIN_STRUCTLEAK": ("y", "n"),
    "GCC_PLUGIN_STRUCTLEAK_BYREF_ALL": ("y", "n"),
    "GCC_PLUGIN_RANDSTRUCT": ("y", "n"), "SYN_COOKIES": ("y", "n"),
    "KEXEC": ("n", "y"), "HIBERNATION": ("n", "y"),
    "BINFMT_MISC": ("n", "m"), "LEGACY_PTYS": ("n", "y"),
}
ARCH = {
    "x86_64": {
        "RETPOLINE": ("y", "n"), "LEGACY_VSYSCALL_NONE": ("y", "n"),
        "LEGACY_VSYSCALL_EMULATE": ("n", "y"),
        "LEGACY_VSYSCALL_XONLY": ("n", "y"),
        "X86_VSYSCALL_EMULATION": ("n", "y"),
        "DEFAULT_MMAP_MIN_ADDR": ("65536", "4096"),
        "RANDOMIZE_BASE": ("y", "n"), "RANDOMIZE_MEMORY": ("y", "n"),
        "PAGE_TABLE_ISOLATION": ("y", "n"), "IA32_EMULATION": ("n", "y"),
        "MODIFY_LDT_SYSCALL": ("n", "y"),
    },
    "x86_32": {
        "RETPOLINE": ("y", "n"), "HIGHMEM64G": ("y", "n"),
        "X86_PAE": ("y", "n"), "DEFAULT_MMAP_MIN_ADDR": ("65536", "32768"),
        "RANDOMIZE_BASE": ("y", "n"),
    },
    "arm": {
        "DEFAULT_MMAP_MIN_ADDR": ("32768", "4096"), "VMSPLIT_3G": ("y", "n"),
        "STRICT_MEMORY_RWX": ("y", "n"), "CPU_SW_DOMAIN_PAN": ("y", "n"),
        "OABI_COMPAT": ("n", "y"),
    },
    "arm64": {
        "DEFAULT_MMAP_MIN_ADDR": ("32768", "4096"),
        "RANDOMIZE_BASE": ("y", "n"), "ARM64_SW_TTBR0_PAN": ("y", "n"),
        "UNMAP_KERNEL_AT_EL0": ("y", "n"),
    },
}
ARCH_OPTION = {"x86_64": "X86_64", "x86_32": "X86_32", "arm": "ARM",
               "arm64": "ARM64"}


def options(arch):
    o = dict(COMMON)
    o.update(ARCH[arch])
    return o


def cid(option):
    return "kconfig." + option.lower()


def config_text(values, arch="x86_64", modules="y"):
    lines = ["#", "# Automatically generated file; DO NOT EDIT.", "#",
             "CONFIG_%s=y" % ARCH_OPTION[arch],
             "CONFIG_MODULES=y" if modules == "y"
             else "# CONFIG_MODULES is not set"]
    for k, v in values.items():
        if v is None:
            continue
        lines.append("# CONFIG_%s is not set" % k if v == "n"
                     else "CONFIG_%s=%s" % (k, v))
    return "\n".join(lines) + "\n"


def kernel(fx, values, arch="x86_64", modules="y", where="boot"):
    fx.sysctl({"kernel.osrelease": REL})
    text = config_text(values, arch, modules)
    if where == "boot":
        fx.file("boot/config-" + REL, text)
    else:
        fx.file("proc/config.gz", gzip.compress(text.encode()))


@pytest.mark.parametrize("arch", sorted(ARCH))
def test_compliant(fx, arch):
    o = options(arch)
    kernel(fx, {k: v[0] for k, v in o.items()}, arch)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("kconfig.source", "INFO", r"/boot/config-%s \(architecture "
             r"%s\)" % (REL, arch))
    for k in o:
        r.expect(cid(k), "OK")
    # the checks of the other architectures are not printed
    assert r.checks() == {cid(k) for k in o} | {"kconfig.source"}, r
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


@pytest.mark.parametrize("arch", sorted(ARCH))
def test_non_compliant(fx, arch):
    o = options(arch)
    kernel(fx, {k: v[1] for k, v in o.items()}, arch)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    for k in o:
        r.expect(cid(k), "FAIL", r"\(expected CONFIG_%s" % k)
    r.expect("kconfig.panic_timeout", "FAIL", r"^CONFIG_PANIC_TIMEOUT=0 "
             r"\(expected CONFIG_PANIC_TIMEOUT=-1, BP-028 R19\)$")


@pytest.mark.parametrize("option", sorted(options("x86_64")))
def test_one_option_wrong(fx, option):
    values = {k: v[0] for k, v in options("x86_64").items()}
    values[option] = options("x86_64")[option][1]
    kernel(fx, values)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    assert [c for c, _ in r.with_status("FAIL")] == [cid(option)], r


def test_absent_options(fx):
    # an option the configuration does not list: compliant when it should
    # be off (the feature is not there), SKIP when it should be on
    values = {k: v[0] for k, v in options("x86_64").items()}
    for k in ("REFCOUNT_FULL", "DEBUG_CREDENTIALS", "DEVKMEM", "KEXEC"):
        values[k] = None
    kernel(fx, values)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("kconfig.refcount_full", "SKIP", r"not present in this kernel")
    r.expect("kconfig.debug_credentials", "SKIP")
    r.expect("kconfig.devkmem", "OK", r"not in this kernel's configuration")
    r.expect("kconfig.kexec", "OK")


def test_renamed_options_of_newer_kernels(fx):
    values = {k: v[0] for k, v in options("x86_64").items()}
    for old, new in (("RETPOLINE", "MITIGATION_RETPOLINE"),
                     ("PAGE_TABLE_ISOLATION",
                      "MITIGATION_PAGE_TABLE_ISOLATION"),
                     ("GCC_PLUGIN_STACKLEAK", "KSTACK_ERASE"),
                     ("GCC_PLUGIN_RANDSTRUCT", "RANDSTRUCT_FULL")):
        values[old] = None
        values[new] = "y"
    values["GCC_PLUGIN_STRUCTLEAK"] = "n"       # INIT_STACK_ALL_ZERO instead
    values["GCC_PLUGIN_STRUCTLEAK_BYREF_ALL"] = None
    values["INIT_STACK_ALL_ZERO"] = "y"
    kernel(fx, values)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("kconfig.retpoline", "OK", r"^CONFIG_MITIGATION_RETPOLINE=y$")
    r.expect("kconfig.gcc_plugin_stackleak", "OK", r"KSTACK_ERASE=y")
    r.expect("kconfig.gcc_plugin_structleak", "OK", r"INIT_STACK_ALL_ZERO")
    values["RANDSTRUCT_FULL"] = "n"
    kernel(fx, values)
    r = auditpack.run(S, fx)
    r.expect("kconfig.gcc_plugin_randstruct", "FAIL", r"expected "
             r"CONFIG_GCC_PLUGIN_RANDSTRUCT or CONFIG_RANDSTRUCT_FULL=y",
             rc=1)


def test_kernel_without_modules(fx):
    values = {k: v[0] for k, v in options("x86_64").items()}
    for k in list(values):
        if k.startswith("MODULE_SIG") or k == "STRICT_MODULE_RWX":
            values[k] = None
    kernel(fx, values, modules="n")
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("kconfig.module_sig_force", "OK", r"no loadable module support")


def test_proc_config_gz(fx):
    kernel(fx, {k: v[1] for k, v in options("arm64").items()}, "arm64",
           where="proc")
    r = auditpack.run(S, fx)
    r.expect("kconfig.source", "INFO", r"from /proc/config.gz", rc=1)
    r.expect("kconfig.unmap_kernel_at_el0", "FAIL")


def test_no_configuration(fx):
    fx.sysctl({"kernel.osrelease": REL})
    r = auditpack.run(S, fx)
    assert r.rc == 2, r
    r.expect("kconfig.source", "SKIP", r"neither /boot/config-%s nor "
             r"/proc/config.gz" % REL)
    assert r.checks() == {"kconfig.source"}


def test_not_a_configuration(fx):
    fx.sysctl({"kernel.osrelease": REL})
    fx.file("boot/config-" + REL, "hello\n")
    r = auditpack.run(S, fx)
    r.expect("kconfig.source", "SKIP", r"no CONFIG_ line", rc=2)


def _says_its_source(r, as_nobody):
    assert "kconfig.source" in r.checks(), r


test_this_machine = auditpack.host_test(S, then=_says_its_source)
