# 2026-12-01 09:00:00 by RouterOS 7.16.1
# software id = DEMO-0001
#
/interface bridge
add name=bridge-lan
/ip address
add address=192.0.2.14/24 interface=ether1
add address=198.51.100.14/24 interface=bridge-lan
/ip firewall filter
add action=accept chain=input connection-state=established,related
add action=drop chain=input in-interface=ether1
/system identity
set name=Edge-Firewall-01
