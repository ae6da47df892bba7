<# customer routes, provider addresses and routes, global, next hop #>
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000007001}" -VirtualSubnetID 7001 -DestinationPrefix 10.1.0.0/24 -NextHop 0.0.0.0 -Metric 255
New-NetVirtualizationCustomerRoute -RoutingDomainID 11111111-2222-3333-4444-000000007001 -VirtualSubnetID 7001 -DestinationPrefix fd00:7001::/64 -NextHop ::
New-NetVirtualizationCustomerRoute -RoutingDomainID {11111111-2222-3333-4444-000000005001} -VirtualSubnetID 5001 -DestinationPrefix 0.0.0.0/0 -NextHop 10.0.0.254
Set-NetVirtualizationCustomerRoute -DestinationPrefix 10.0.0.0/24 -Metric 10
Get-NetVirtualizationCustomerRoute | Remove-NetVirtualizationCustomerRoute
New-NetVirtualizationProviderAddress -ProviderAddress 192.168.4.11 -InterfaceIndex 1 -PrefixLength 24 -VlanID 0
Set-NetVirtualizationProviderAddress -ProviderAddress 192.168.4.11 -PrefixLength 16
Get-NetVirtualizationProviderAddress -InterfaceIndex 1 | Remove-NetVirtualizationProviderAddress
New-NetVirtualizationProviderRoute -InterfaceIndex 1 -DestinationPrefix 0.0.0.0/0 -NextHop 192.168.4.1 -Metric 10
Set-NetVirtualizationProviderRoute -DestinationPrefix 0.0.0.0/0 -Metric 5
Get-NetVirtualizationProviderRoute | Remove-NetVirtualizationProviderRoute
Get-NetVirtualizationGlobal; Set-NetVirtualizationGlobal -UseExternalRouter:$true
Select-NetVirtualizationNextHop -SourceCustomerAddress 10.0.0.5 -DestinationCustomerAddress 10.0.0.7 -SourceVirtualSubnetID 5001
Select-NetVirtualizationNextHop -DestinationCustomerAddress 10.0.0.7 -SourceVirtualSubnetID 6001 -CimSession Host1 -AsJob -ThrottleLimit 2
