"""sysctl-hardening on fixture trees (ROOT/proc/sys): for every parameter
of ANSSI BP-028 v2.0 R8-R9, R11-R14 a compliant value (OK, exit 0), a
non-compliant one (FAIL, exit 1) and an absent one (compiled out: OK;
Yama: FAIL; others: SKIP); IPv6 off makes the IPv6 keys SKIP.

Values are written here from the guide, independently of the script."""

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "sysctl-hardening"

# name: (compliant value, non-compliant value, absent -> status)
PARAMS = {
    "vm.mmap_min_addr": ("65536", "4096", "SKIP"),
    "kernel.dmesg_restrict": ("1", "0", "SKIP"),
    "kernel.kptr_restrict": ("2", "1", "SKIP"),        # v2.0 asks for 2
    "kernel.perf_event_max_sample_rate": ("1", "100000", "OK"),
    "kernel.perf_cpu_time_max_percent": ("1", "0", "OK"),  # 0: no limit
    "kernel.perf_event_paranoid": ("3", "1", "OK"),    # stricter is fine
    "kernel.randomize_va_space": ("2", "1", "SKIP"),
    "kernel.sysrq": ("0", "176", "OK"),                # compiled out: OK
    "kernel.unprivileged_bpf_disabled": ("2", "0", "OK"),
    "kernel.panic_on_oops": ("1", "0", "SKIP"),
    "kernel.yama.ptrace_scope": ("1", "0", "FAIL"),    # no Yama: a FAIL
    "net.core.bpf_jit_harden": ("2", "1", "OK"),
    "net.ipv4.ip_forward": ("0", "1", "SKIP"),
    "net.ipv4.conf.all.accept_local": ("0", "1", "SKIP"),
    "net.ipv4.conf.all.accept_redirects": ("0", "1", "SKIP"),
    "net.ipv4.conf.default.accept_redirects": ("0", "1", "SKIP"),
    "net.ipv4.conf.all.secure_redirects": ("0", "1", "SKIP"),
    "net.ipv4.conf.default.secure_redirects": ("0", "1", "SKIP"),
    "net.ipv4.conf.all.shared_media": ("0", "1", "SKIP"),
    "net.ipv4.conf.default.shared_media": ("0", "1", "SKIP"),
    "net.ipv4.conf.all.accept_source_route": ("0", "1", "SKIP"),
    "net.ipv4.conf.default.accept_source_route": ("0", "1", "SKIP"),
    "net.ipv4.conf.all.arp_filter": ("1", "0", "SKIP"),
    "net.ipv4.conf.all.arp_ignore": ("2", "1", "SKIP"),
    "net.ipv4.conf.all.route_localnet": ("0", "1", "SKIP"),
    "net.ipv4.conf.all.drop_gratuitous_arp": ("1", "0", "SKIP"),
    "net.ipv4.conf.all.rp_filter": ("1", "0", "SKIP"),
    "net.ipv4.conf.default.rp_filter": ("1", "2", "SKIP"),
    "net.ipv4.conf.all.send_redirects": ("0", "1", "SKIP"),
    "net.ipv4.conf.default.send_redirects": ("0", "1", "SKIP"),
    "net.ipv4.conf.all.log_martians": ("1", "0", "SKIP"),
    "net.ipv4.icmp_ignore_bogus_error_responses": ("1", "0", "SKIP"),
    "net.ipv4.ip_local_port_range": ("1024\t65535", "32768\t60999", "SKIP"),
    "net.ipv4.tcp_rfc1337": ("1", "0", "SKIP"),
    "net.ipv4.tcp_syncookies": ("1", "0", "SKIP"),
    "net.ipv6.conf.all.router_solicitations": ("0", "-1", "SKIP"),
    "net.ipv6.conf.default.router_solicitations": ("0", "3", "SKIP"),
    "net.ipv6.conf.all.accept_ra_rtr_pref": ("0", "1", "SKIP"),
    "net.ipv6.conf.default.accept_ra_rtr_pref": ("0", "1", "SKIP"),
    "net.ipv6.conf.all.accept_ra_pinfo": ("0", "1", "SKIP"),
    "net.ipv6.conf.default.accept_ra_pinfo": ("0", "1", "SKIP"),
    "net.ipv6.conf.all.accept_ra_defrtr": ("0", "1", "SKIP"),
    "net.ipv6.conf.default.accept_ra_defrtr": ("0", "1", "SKIP"),
    "net.ipv6.conf.all.autoconf": ("0", "1", "SKIP"),
    "net.ipv6.conf.default.autoconf": ("0", "1", "SKIP"),
    "net.ipv6.conf.all.accept_redirects": ("0", "1", "SKIP"),
    "net.ipv6.conf.default.accept_redirects": ("0", "1", "SKIP"),
    "net.ipv6.conf.all.accept_source_route": ("0", "1", "SKIP"),
    "net.ipv6.conf.default.accept_source_route": ("0", "1", "SKIP"),
    "net.ipv6.conf.all.max_addresses": ("1", "16", "SKIP"),
    "net.ipv6.conf.default.max_addresses": ("1", "16", "SKIP"),
    "fs.suid_dumpable": ("0", "2", "SKIP"),
    "fs.protected_fifos": ("2", "1", "SKIP"),
    "fs.protected_regular": ("2", "0", "SKIP"),
    "fs.protected_symlinks": ("1", "0", "SKIP"),
    "fs.protected_hardlinks": ("1", "0", "SKIP"),
}
GOOD = {k: v[0] for k, v in PARAMS.items()}
GOOD["kernel.pid_max"] = "65536"
GOOD["net.ipv6.conf.all.disable_ipv6"] = "0"


def checked(r):
    return {c[len("sysctl."):]: s for s, c, _ in r.findings}


def test_compliant(fx):
    fx.sysctl(GOOD)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for name in PARAMS:
        r.expect("sysctl." + name, "OK")
    # pid_max: ANSSI gives 65536 as an example only: never a finding
    r.expect("sysctl.kernel.pid_max", "INFO", r"^65536 ")
    r.expect("sysctl.net.ipv4.ip_local_port_range", "OK",
             r"^1024 65535 \(expected 32768 65535 or wider\)")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_every_key_non_compliant(fx):
    values = {k: v[1] for k, v in PARAMS.items()}
    values["kernel.pid_max"] = "4194304"
    values["net.ipv6.conf.all.disable_ipv6"] = "0"
    fx.sysctl(values)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    for name in PARAMS:
        r.expect("sysctl." + name, "FAIL")
    r.expect("sysctl.kernel.kptr_restrict", "FAIL", r"^1 \(expected 2\)$")
    r.expect("sysctl.kernel.pid_max", "INFO")


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_one_key_non_compliant(fx, name):
    values = dict(GOOD)
    values[name] = PARAMS[name][1]
    fx.sysctl(values)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    assert [c for c, _ in r.with_status("FAIL")] == ["sysctl." + name], r


def test_every_key_absent(fx):
    # Only the IPv6 switch: every parameter is missing from this kernel.
    fx.sysctl({"net.ipv6.conf.all.disable_ipv6": "0"})
    r = auditpack.run(S, fx)
    assert r.rc == 1, r            # no Yama
    for name, (_, _, absent) in PARAMS.items():
        r.expect("sysctl." + name, absent)
    r.expect("sysctl.kernel.sysrq", "OK", "compiled out")
    r.expect("sysctl.kernel.yama.ptrace_scope", "FAIL", "Yama is not loaded")
    r.expect("sysctl.kernel.pid_max", "SKIP", "not present")


def test_sysrq_compiled_out_is_compliant(fx):
    values = dict(GOOD)
    values["kernel.sysrq"] = None
    fx.sysctl(values)
    r = auditpack.run(S, fx)
    r.expect("sysctl.kernel.sysrq", "OK", rc=0)


@pytest.mark.parametrize("how", ["disabled", "absent"])
def test_ipv6_off(fx, how):
    values = dict(GOOD)
    if how == "disabled":
        values["net.ipv6.conf.all.disable_ipv6"] = "1"
    else:
        values = {k: v for k, v in values.items()
                  if not k.startswith("net.ipv6.")}
    fx.sysctl(values)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for name in PARAMS:
        if name.startswith("net.ipv6."):
            r.expect("sysctl." + name, "SKIP", "^does not apply: IPv6 is")
        else:
            r.expect("sysctl." + name, "OK")


def test_no_proc(fx):
    r = auditpack.run(S, fx)
    r.expect("sysctl.proc", "SKIP", "is missing", rc=2)
    assert len(r.findings) == 1, r


@pytest.mark.skipif(not auditpack.IS_ROOT,
                    reason="needs root to make a root-only file")
def test_unreadable_without_root(fx):
    fx.sysctl(GOOD)
    fx.file("proc/sys/kernel/yama/ptrace_scope", "1\n", 0o600)
    r = auditpack.run(S, fx, as_nobody=True)
    r.expect("sysctl.kernel.yama.ptrace_scope", "SKIP",
             r"^unreadable \(needs root\)$", rc=0)
    auditpack.run(S, fx).expect("sysctl.kernel.yama.ptrace_scope", "OK")
