# Get, Set and Remove of lookup records, with lists, filters and pipelines.
Get-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5,'10.0.0.7' -VirtualSubnetID 5001
Get-NetVirtualizationLookupRecord -MACAddress 06-06-00-00-00-07 -VMName blue* | Format-List
Set-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 -ProviderAddress 192.168.4.33 -Context "moved `"here`"" -Rule TranslationMethodNat -UseVmMACAddress
Get-NetVirtualizationLookupRecord -VMName Blue1 | Set-NetVirtualizationLookupRecord -ProviderAddress fd00:1::33 -CustomerID {11111111-2222-3333-4444-000000005001}
Get-NetVirtualizationLookupRecord -Type GatewayWildcard,36 | Remove-NetVirtualizationLookupRecord -Confirm:$false
Remove-NetVirtualizationLookupRecord -VirtualSubnetID 6001 -WhatIf; Remove-NetVirtualizationLookupRecord
New-NetVirtualizationLookupRecord -CustomerAddress 0.0.0.0 -VirtualSubnetID 5001 -MACAddress 0A0A0A0A0A01 -ProviderAddress 192.168.4.1 -Rule 36 -Type 37 -VMName 'it''s' -Context 'a#b'
