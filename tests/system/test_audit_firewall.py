"""firewall on fixture trees: programs nft / iptables-save / ip6tables-save
as stubs under ROOT/usr/sbin printing a ruleset, ROOT/proc/sys/net/ipv6 and
ROOT/proc/net/ip_tables_names. firewall.ipv4 and firewall.ipv6: compliant
(an input chain that drops), non-compliant (accepts everything, no chain,
no tool at all: a FAIL, issue 15) and not applicable (IPv6 off: SKIP);
rules that cannot be listed: SKIP firewall.rules and exit 2."""

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "firewall"

RULESET_DROP = """\
table inet filter {
	set admins {
		type ipv4_addr
		elements = { 192.0.2.1,
			     192.0.2.2 }
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport 22 ip saddr @admins accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
"""

# Debian's /etc/nftables.conf as shipped: chains that accept everything,
# and an iptables-nft table filtering IPv4 only.
RULESET_OPEN = """\
table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy accept;
		ip saddr 192.0.2.0/24 counter packets 0 bytes 0 drop
	}
}
"""



IPTABLES_DROP = """\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
"""


def host(fx, nft=None, ipv6=True, **stubs):
    if nft is not None:
        fx.stub_output("nft", nft)
    for name, out in stubs.items():
        fx.stub_output(name.replace("_", "-"), out)
    if ipv6:
        fx.sysctl({"net.ipv6.conf.all.disable_ipv6": "0"})
    return fx


def test_drop_policy(fx):
    r = auditpack.run(S, host(fx, RULESET_DROP))
    assert r.rc == 0, r
    r.expect("firewall.ipv4", "OK")
    r.expect("firewall.ipv6", "OK")
    assert ("INFO", "firewall.ruleset", "nftables inet filter chain input: "
            "policy drop, 3 rules, 0 drop/reject") in r.findings, r
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_accepts_everything_for_ipv6(fx):
    r = auditpack.run(S, host(fx, RULESET_OPEN))
    assert r.rc == 1, r
    r.expect("firewall.ipv4", "OK")
    r.expect("firewall.ipv6", "FAIL", "accept everything")


def test_empty_ruleset(fx):
    r = auditpack.run(S, host(fx, ""))
    assert r.rc == 1, r
    r.expect("firewall.ipv4", "FAIL", "no IPv4 input chain")
    r.expect("firewall.ipv6", "FAIL", "no IPv6 input chain")


def test_iptables_save_without_ipv6(fx):
    r = auditpack.run(S, host(fx, ipv6=False, iptables_save=IPTABLES_DROP))
    assert r.rc == 0, r
    r.expect("firewall.ipv4", "OK")
    r.expect("firewall.ipv6", "SKIP", "^does not apply: IPv6")
    assert ("INFO", "firewall.ruleset", "iptables-save filter INPUT: policy "
            "drop, 2 rules, 0 drop/reject") in r.findings, r


def test_ip6tables_accepting(fx):
    r = auditpack.run(S, host(fx, iptables_save=IPTABLES_DROP,
                              ip6tables_save=IPTABLES_DROP.replace(
                                  ":INPUT DROP", ":INPUT ACCEPT").replace(
                                  "-A INPUT -p tcp --dport 22 -j ACCEPT\n",
                                  "")))
    assert r.rc == 1, r
    r.expect("firewall.ipv4", "OK")
    r.expect("firewall.ipv6", "FAIL", "accept everything")


def test_not_permitted(fx):
    fx.stub_output("nft", "", rc=1, err="Error: Operation not permitted\n")
    fx.sysctl({"net.ipv6.conf.all.disable_ipv6": "0"})
    r = auditpack.run(S, fx)
    r.expect("firewall.rules", "SKIP", "Operation not permitted", rc=2)
    assert not r.get("firewall.ipv4"), r


@pytest.mark.parametrize("ipv6", [True, False])
def test_no_tooling_is_a_finding(fx, ipv6):
    # Issue 15: no rules and no tool to load them is a FAIL, not exit 2.
    host(fx, ipv6=ipv6)
    fx.file("proc/net/ip_tables_names", "")
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("firewall.ipv4", "FAIL", "neither nft")
    r.expect("firewall.ipv6", "FAIL" if ipv6 else "SKIP")


def test_no_tooling_but_tables_loaded(fx):
    host(fx)
    fx.file("proc/net/ip_tables_names", "filter\nnat\n")
    r = auditpack.run(S, fx)
    r.expect("firewall.rules", "SKIP", r"tables are loaded \(filter nat\)",
             rc=2)


def test_frontends_named(fx):
    host(fx, RULESET_DROP)
    fx.file("etc/ufw/ufw.conf", "ENABLED=yes\n")
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    assert r.get("firewall.frontend") == [
        ("INFO", "ufw is enabled in /etc/ufw/ufw.conf (its rules are "
                 "checked below)")], r
