"""Attack tests: the SSRF list. No connection is ever attempted to these."""

import pytest

from common.addresses import AddressPolicy, Refused

REFUSED_HOSTS = [
    "127.0.0.1",
    "127.8.9.10",
    "localhost",
    "LOCALHOST.",
    "app.localhost",
    "[::1]",
    "::1",
    "0.0.0.0",
    "0",
    "[::]",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "metadata.google.internal",
    "metadata",
    "[fd00:ec2::254]",
    "[fe80::1]",
    "[fc00::1]",
    "2130706433",
    "017700000001",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "127.1",
    "0xa9fea9fe",
    "2852039166",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:169.254.169.254]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_local_private_and_metadata_hosts_are_refused(host: str) -> None:
    with pytest.raises(Refused):
        AddressPolicy.build().check_host(host)


@pytest.mark.parametrize("host", ["8.8.8.8", "example.com", "[2606:4700:4700::1111]"])
def test_public_hosts_pass(host: str) -> None:
    AddressPolicy.build().check_host(host)


def test_a_name_is_refused_when_any_address_it_resolves_to_is_private() -> None:
    import ipaddress

    policy = AddressPolicy.build()
    public, private = ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.1.2.3")
    policy.check_resolved("ok.example", [public])
    with pytest.raises(Refused, match="private"):
        policy.check_resolved("mixed.example", [public, private])


def test_an_operator_can_allow_a_private_network_or_name() -> None:
    import ipaddress

    policy = AddressPolicy.build(["10.0.0.0/8", "intranet.corp", "127.0.0.1"])
    policy.check_host("10.2.3.4")
    policy.check_host("127.0.0.1")
    policy.check_resolved("intranet.corp", [ipaddress.ip_address("192.168.0.7")])
    with pytest.raises(Refused):
        policy.check_host("192.168.0.7")
    with pytest.raises(Refused):
        policy.check_host("169.254.169.254")
