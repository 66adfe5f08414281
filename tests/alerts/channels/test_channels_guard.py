"""Webhook targets are checked against blocked ranges, and the checked address is the one used."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from driftline.alerts.channels import NetworkPolicy, check_target, system_resolver
from driftline.errors import DeliveryError


def fixed(*addresses: str) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize(
    ("url", "address", "blocked"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1", "127.0.0.0/8"),
        ("http://10.0.0.1/hook", "10.0.0.1", "10.0.0.0/8"),
        ("http://172.20.1.1/", "172.20.1.1", "172.16.0.0/12"),
        ("http://192.168.1.10/", "192.168.1.10", "192.168.0.0/16"),
        ("http://100.64.3.4/", "100.64.3.4", "100.64.0.0/10"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "169.254.0.0/16"),
        ("http://0.0.0.0/", "0.0.0.0", "0.0.0.0/8"),
        ("http://[::1]:9000/", "::1", "::1/128"),
        ("http://[fc00::5]/", "fc00::5", "fc00::/7"),
        ("http://[fd12:3456::1]/", "fd12:3456::1", "fc00::/7"),
        ("http://[fe80::1]/", "fe80::1", "fe80::/10"),
        ("http://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1", "10.0.0.0/8"),
        ("http://224.0.0.1/", "224.0.0.1", "224.0.0.0/4"),
    ],
)
def test_blocked_by_default(url: str, address: str, blocked: str) -> None:
    with pytest.raises(DeliveryError) as info:
        check_target(url, policy=NetworkPolicy(), resolver=fixed())
    err = info.value
    assert err.retryable is False
    assert f"resolves to {address}, which is in the blocked range {blocked}" in str(err)


def test_hostname_resolving_to_a_blocked_address_is_blocked() -> None:
    with pytest.raises(
        DeliveryError, match=r"host 'metadata.internal' resolves to 169.254.169.254"
    ):
        check_target(
            "http://metadata.internal/", policy=NetworkPolicy(), resolver=fixed("169.254.169.254")
        )
    # one blocked address among public ones is enough to refuse (no cherry-picking)
    with pytest.raises(DeliveryError, match=r"10\.1\.1\.1"):
        check_target(
            "https://mixed.example/",
            policy=NetworkPolicy(),
            resolver=fixed("93.184.216.34", "10.1.1.1"),
        )


def test_public_address_passes_and_is_pinned() -> None:
    t = check_target(
        "https://hooks.example.com/a?b=1", policy=NetworkPolicy(), resolver=fixed("93.184.216.34")
    )
    assert (t.scheme, t.host, t.port, t.address) == (
        "https",
        "hooks.example.com",
        443,
        "93.184.216.34",
    )


def test_allow_list_overrides_by_range_and_by_host() -> None:
    by_range = NetworkPolicy(allow=["127.0.0.1/32", "10.1.0.0/16"])
    assert (
        check_target("http://127.0.0.1:1/", policy=by_range, resolver=fixed()).address
        == "127.0.0.1"
    )
    assert check_target("http://10.1.2.3/", policy=by_range, resolver=fixed()).address == "10.1.2.3"
    with pytest.raises(DeliveryError, match=r"10\.0\.0\.0/8"):
        check_target("http://10.2.0.1/", policy=by_range, resolver=fixed())
    by_host = NetworkPolicy(allow=["deploy.internal"])
    t = check_target(
        "http://Deploy.Internal:8080/rollback", policy=by_host, resolver=fixed("10.9.9.9")
    )
    assert (t.host, t.port, t.address) == ("deploy.internal", 8080, "10.9.9.9")


def test_custom_blocked_ranges_and_schemes() -> None:
    nothing_blocked = NetworkPolicy(blocked=[])
    assert check_target("http://10.0.0.1/", policy=nothing_blocked, resolver=fixed()).port == 80
    https_only = NetworkPolicy(allowed_schemes=["https"])
    with pytest.raises(DeliveryError, match="scheme 'http' is not allowed") as info:
        check_target(
            "http://hooks.example.com/", policy=https_only, resolver=fixed("93.184.216.34")
        )
    assert info.value.retryable is False


def test_dns_failure_is_retryable() -> None:
    def broken(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(DeliveryError, match="does not resolve") as info:
        check_target("https://nowhere.example/", policy=NetworkPolicy(), resolver=broken)
    assert info.value.retryable is True


def test_system_resolver_resolves_localhost_and_guard_blocks_it() -> None:
    assert set(system_resolver("localhost", 80)) & {"127.0.0.1", "::1"}
    with pytest.raises(DeliveryError, match="host 'localhost' resolves to"):
        check_target("http://localhost:9/", policy=NetworkPolicy(), resolver=system_resolver)
