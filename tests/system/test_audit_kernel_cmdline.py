"""kernel-cmdline on fixture trees (ROOT/proc/cmdline): every option of
ANSSI BP-028 v2.0 R7 and R8 compliant (OK), missing (FAIL; init_on_alloc
and init_on_free WARN) and with another value (FAIL), the last value wins,
what follows "--" is init's; protections switched off; no /proc/cmdline
(exit 2); then on this machine, as-is and as nobody.

The expected options are written here from the guide, independently of
the script."""

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "kernel-cmdline"

# CHECK-ID: (compliant option, non-compliant option, status when missing)
OPTIONS = {
    "cmdline.iommu": ("iommu=force", "iommu=pt", "FAIL"),
    "cmdline.l1tf": ("l1tf=full,force", "l1tf=flush", "FAIL"),
    "cmdline.page_poison": ("page_poison=on", "page_poison=off", "FAIL"),
    "cmdline.pti": ("pti=on", "pti=auto", "FAIL"),
    "cmdline.slab_nomerge": ("slab_nomerge", "slab_nomerge=0", "FAIL"),
    "cmdline.slub_debug": ("slub_debug=FZP", "slub_debug=F", "FAIL"),
    "cmdline.spec_store_bypass_disable": ("spec_store_bypass_disable=seccomp",
                                          "spec_store_bypass_disable=prctl",
                                          "FAIL"),
    "cmdline.spectre_v2": ("spectre_v2=on", "spectre_v2=auto", "FAIL"),
    "cmdline.mds": ("mds=full,nosmt", "mds=full", "FAIL"),
    "cmdline.mce": ("mce=0", "mce=2", "FAIL"),
    "cmdline.page_alloc_shuffle": ("page_alloc.shuffle=1",
                                   "page_alloc.shuffle=0", "FAIL"),
    "cmdline.rng_core_quality": ("rng_core.default_quality=500",
                                 "rng_core.default_quality=1000", "FAIL"),
    "cmdline.init_on_alloc": ("init_on_alloc=1", "init_on_alloc=0", "WARN"),
    "cmdline.init_on_free": ("init_on_free=1", "init_on_free=0", "WARN"),
}
BOOT = "BOOT_IMAGE=/vmlinuz-6.1.0-13-amd64 root=/dev/sda1 ro quiet"


def cmdline(fx, options):
    fx.file("proc/cmdline", " ".join([BOOT] + options) + "\n")


def good():
    return [v[0] for v in OPTIONS.values()]


def test_compliant(fx):
    cmdline(fx, good())
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for c in OPTIONS:
        r.expect(c, "OK")
    r.expect("cmdline.mitigations", "OK")
    r.expect("cmdline.slab_nomerge", "OK", r"^slab_nomerge$")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_nothing_set(fx):
    cmdline(fx, [])
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    for c, (_, _, missing) in OPTIONS.items():
        r.expect(c, missing, r"is not on the kernel command line")
    r.expect("cmdline.iommu", "FAIL", r"\(expected iommu=force\)")
    r.expect("cmdline.mitigations", "OK")


@pytest.mark.parametrize("check", sorted(OPTIONS))
def test_one_option_wrong(fx, check):
    options = [o for c, (o, _, _) in OPTIONS.items() if c != check]
    options.append(OPTIONS[check][1])
    cmdline(fx, options)
    r = auditpack.run(S, fx)
    status = "FAIL" if OPTIONS[check][2] == "FAIL" else "WARN"
    r.expect(check, status, "^" + OPTIONS[check][1].replace(".", r"\.") +
             r" \((expected|recommended) ")
    assert [c for c, _ in r.with_status(status)] == [check], r
    assert r.rc == (1 if status == "FAIL" else 0), r


def test_last_value_wins_and_init_arguments(fx):
    options = good()
    # the kernel keeps the last iommu=; after "--" the words are init's
    options += ["iommu=off", "iommu=force", "--", "pti=off", "mitigations=off"]
    cmdline(fx, options)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("cmdline.iommu", "OK", r"^iommu=force$")
    r.expect("cmdline.pti", "OK")
    r.expect("cmdline.mitigations", "OK")


def test_dashes_and_underscores_are_one(fx):
    options = [o for o in good() if not o.startswith("spec_store")]
    options.append("spec-store-bypass-disable=seccomp")
    cmdline(fx, options)
    r = auditpack.run(S, fx)
    r.expect("cmdline.spec_store_bypass_disable", "OK", rc=0)


def test_slub_debug_alone_means_every_option(fx):
    options = [o for o in good() if not o.startswith("slub_debug")]
    cmdline(fx, options + ["slub_debug"])
    r = auditpack.run(S, fx)
    r.expect("cmdline.slub_debug", "OK", rc=0)
    cmdline(fx, options + ["slub_debug=PZF,kmalloc-64"])
    r = auditpack.run(S, fx)
    r.expect("cmdline.slub_debug", "OK", rc=0)


def test_protections_switched_off(fx):
    cmdline(fx, good() + ["mitigations=off", "nosmap", "nokaslr"])
    r = auditpack.run(S, fx)
    r.expect("cmdline.mitigations", "FAIL", r"mitigations=off nosmap "
             r"nokaslr", rc=1)


def test_no_proc(fx):
    fx.dir("proc")
    r = auditpack.run(S, fx)
    assert r.rc == 2, r
    for c in list(OPTIONS) + ["cmdline.mitigations"]:
        r.expect(c, "SKIP", r"/proc/cmdline is not readable")


def _no_could_not_check(r, as_nobody):
    assert r.rc in (0, 1), r


test_this_machine = auditpack.host_test(
    S, set(OPTIONS) | {"cmdline.mitigations"}, _no_could_not_check)
