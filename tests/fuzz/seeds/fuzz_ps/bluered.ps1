# The Blue/Red demo of Hyper-V Network Virtualization, as a Hyper-V
# administrator types it on Host1 (PA 192.168.4.11). Host2 (PA 192.168.4.22)
# runs Blue2 and Red2. Both tenants use 10.0.0.0/24; 10.0.0.1 is each
# subnet's default gateway. The same policy in hnvgw config text is
# tests/data/bluered-host1.conf (which adds the local VM ports).
#
# InterfaceIndex 1 is the loopback interface so that the test suite can run
# this script anywhere; on a real host give the index of the provider NIC
# (Get-NetAdapter on Windows, "ip link" on Linux).

# The provider address of this host.
New-NetVirtualizationProviderAddress -InterfaceIndex 1 -ProviderAddress "192.168.4.11" -PrefixLength 24

# One customer route per routing domain: the subnet is on-link. hnvgw
# creates the routing domain and the virtual subnet from the first route.
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000005001}" `
    -VirtualSubnetID 5001 -DestinationPrefix "10.0.0.0/24" -NextHop "0.0.0.0" -Metric 255
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000006001}" `
    -VirtualSubnetID 6001 -DestinationPrefix "10.0.0.0/24" -NextHop "0.0.0.0" -Metric 255

# Lookup records for all four VMs (CustomerID = the routing domain's RDID).
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.5" -VirtualSubnetID 5001 `
    -MACAddress "060600000005" -ProviderAddress "192.168.4.11" -Rule "TranslationMethodEncap" `
    -CustomerID "{11111111-2222-3333-4444-000000005001}" -VMName "Blue1"
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.7" -VirtualSubnetID 5001 `
    -MACAddress "060600000007" -ProviderAddress "192.168.4.22" -Rule "TranslationMethodEncap" `
    -CustomerID "{11111111-2222-3333-4444-000000005001}" -VMName "Blue2"
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.5" -VirtualSubnetID 6001 `
    -MACAddress "080800000005" -ProviderAddress "192.168.4.11" -Rule "TranslationMethodEncap" `
    -CustomerID "{11111111-2222-3333-4444-000000006001}" -VMName "Red1"
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.7" -VirtualSubnetID 6001 `
    -MACAddress "080800000007" -ProviderAddress "192.168.4.22" -Rule "TranslationMethodEncap" `
    -CustomerID "{11111111-2222-3333-4444-000000006001}" -VMName "Red2"
