$vsid = 5001, 6001
$name = 'Blue1'; $on = $true
Get-NetVirtualizationLookupRecord -VirtualSubnetID $vsid | Where-Object { $_.VMName -eq $name -and $_.UseVmMACAddress -ne $on } | Remove-NetVirtualizationLookupRecord
Get-NetVirtualizationLookupRecord | ? {$_.Rule -eq 36} | ? VMName -like 'b*' | Select-Object -Property *Address,VMName | ft -AutoSize VMName
Get-NetVirtualizationCustomerRoute | where { $_.NextHop -notmatch '^0\.' } | Set-NetVirtualizationCustomerRoute -Metric 7
Get-NetVirtualizationProviderAddress | select ProviderAddress,PrefixLength | fl
Get-NetVirtualizationGlobal -CimSession localhost,. | Format-Table
Select-NetVirtualizationNextHop 10.0.0.5 10.0.0.7 5001 | fl
Get-NetVirtualizationLookupRecord -CimSession other | Remove-NetVirtualizationLookupRecord
