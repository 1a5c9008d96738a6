"""Platform output checks, without a device: empty, refused, truncated, volatile lines."""

from __future__ import annotations

import pytest

from devices.collection.collectors import CollectionError
from devices.collection.platforms import PLATFORMS, OutputError, normalize, platform_named

IOS = PLATFORMS["cisco_ios"]
ROS = PLATFORMS["mikrotik_routeros"]
LINUX = PLATFORMS["linux"]

IOS_CONFIG = """\
Building configuration...

Current configuration : 1234 bytes
!
! Last configuration change at 10:22:33 UTC Mon Nov 23 2026 by admin
! NVRAM config last updated at 10:22:40 UTC Mon Nov 23 2026 by admin
!
version 15.2
hostname core-rtr-01
!
interface GigabitEthernet0/0
 ip address 192.0.2.1 255.255.255.0
!
ntp clock-period 17179865
end
"""

ROS_EXPORT = """\
# 2026-11-23 10:22:33 by RouterOS 7.16.1
# software id = ABCD-1234
#
/interface bridge
add name=bridge1
/ip address
add address=192.0.2.1/24 interface=bridge1
"""


@pytest.mark.parametrize("platform", list(PLATFORMS.values()), ids=list(PLATFORMS))
@pytest.mark.parametrize("output", ["", "\n\n", "  \r\n \n"], ids=["nothing", "newlines", "blank"])
def test_empty_output_is_an_error_on_every_platform(platform: object, output: str) -> None:
    with pytest.raises(OutputError, match=r"^empty output: `cmd` printed nothing"):
        platform.clean(output, command="cmd")  # type: ignore[attr-defined]


def test_normalize_unifies_newlines_and_edges() -> None:
    assert normalize("\r\n\nhostname a  \r\nend\r\n\r\n") == "hostname a\nend\n"
    assert normalize("a\x00b") == "ab\n"
    assert normalize("") == ""


# -- Cisco IOS -----------------------------------------------------------------------------


def test_ios_config_keeps_the_configuration_and_drops_lines_that_change_by_themselves() -> None:
    text = IOS.clean(IOS_CONFIG, command="show running-config")
    assert text.startswith("!\n!\nversion 15.2\n")
    assert text.endswith("ip address 192.0.2.1 255.255.255.0\n!\nend\n")
    for volatile in ("Building configuration", "Current configuration", "Last configuration",
                     "NVRAM config", "ntp clock-period"):
        assert volatile not in text


def test_ios_configs_differing_only_in_volatile_lines_clean_to_the_same_text() -> None:
    later = IOS_CONFIG.replace("10:22:33", "11:00:00").replace("17179865", "17179999")
    assert IOS.clean(later, command="show run") == IOS.clean(IOS_CONFIG, command="show run")


def test_ios_config_without_its_final_end_is_truncated() -> None:
    cut = IOS_CONFIG.split("ntp clock-period")[0]
    with pytest.raises(OutputError, match=r"^truncated output: .*does not end with `end`"):
        IOS.clean(cut, command="show running-config")


def test_ios_config_cut_in_the_middle_of_a_line_is_truncated() -> None:
    with pytest.raises(OutputError, match="truncated output: .*'interface GigabitEthe'"):
        IOS.clean(IOS_CONFIG[: IOS_CONFIG.index("GigabitEthernet") + 11],
                  command="show running-config")


def test_ios_startup_config_is_checked_for_its_end_too() -> None:
    with pytest.raises(OutputError, match="truncated"):
        IOS.clean("version 15.2\nhostname a\n", command="show startup-config")


def test_ios_filtered_output_is_not_expected_to_end_with_end() -> None:
    text = IOS.clean("interface Gi0/0\n ip address 192.0.2.1 255.255.255.0\n",
                     command="show running-config | section interface")
    assert text.startswith("interface Gi0/0")


def test_ios_error_message_is_a_refusal_not_a_configuration() -> None:
    output = "show running-config\n      ^\n% Invalid input detected at '^' marker.\n"
    with pytest.raises(OutputError, match="the device refused `show running-config`: % Invalid"):
        IOS.clean(output, command="show running-config")


def test_ios_output_of_only_volatile_lines_is_empty() -> None:
    with pytest.raises(OutputError, match="empty output"):
        IOS.clean("Building configuration...\n\nCurrent configuration : 3 bytes\n",
                  command="show running-config")


# -- MikroTik RouterOS ---------------------------------------------------------------------


def test_routeros_export_drops_the_timestamp_and_keeps_the_version() -> None:
    text = ROS.clean(ROS_EXPORT, command="/export")
    assert text.splitlines()[0] == "# by RouterOS 7.16.1"
    assert text.endswith("add address=192.0.2.1/24 interface=bridge1\n")
    again = ROS_EXPORT.replace("2026-11-23 10:22:33", "2026-11-24 02:00:00")
    assert ROS.clean(again, command="/export") == text


def test_routeros_6_header_is_recognised() -> None:
    text = ROS.clean("# nov/23/2026 10:22:33 by RouterOS 6.49.10\n/system identity\n",
                     command="/export")
    assert text.startswith("# by RouterOS 6.49.10\n")


def test_routeros_export_ending_in_a_continued_line_is_truncated() -> None:
    cut = ROS_EXPORT + "add action=accept chain=input comment=\\\n"
    with pytest.raises(OutputError, match="^truncated output: the export ends inside"):
        ROS.clean(cut, command="/export")


def test_routeros_output_without_export_header_is_not_an_export() -> None:
    with pytest.raises(OutputError, match="not a RouterOS export"):
        ROS.clean("/interface bridge\nadd name=bridge1\n", command="/export terse")


def test_routeros_error_is_a_refusal() -> None:
    with pytest.raises(OutputError, match="refused `/expor`: bad command name expor"):
        ROS.clean("bad command name expor (line 1 column 2)\n", command="/expor")


# -- Linux and the registry ----------------------------------------------------------------


def test_linux_output_is_stored_as_printed() -> None:
    assert LINUX.clean("\nhostname a\nend", command="cat x") == "hostname a\nend\n"
    assert LINUX.default_command == "cat /etc/devicevault/running-config"
    assert LINUX.check_exit_status and not IOS.check_exit_status


def test_platform_commands() -> None:
    assert IOS.default_command == "show running-config"
    assert ROS.default_command == "/export"


def test_a_device_without_a_platform_or_with_an_unknown_one_fails_clearly() -> None:
    with pytest.raises(CollectionError, match="device r1 has no platform"):
        platform_named("", device="r1")
    with pytest.raises(CollectionError, match="platform 'junos' of device r1 is not supported"):
        platform_named("junos", device="r1")
