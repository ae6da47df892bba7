New-NetVirtualizationLookupRecord –CustomerAddress “10.0.0.5” -VirtualSubnetID 0x1389 -MACAddress ‘060600000005’ -ProviderAddress 192.168.4.11 -Rule TranslationMethodEncap `
  -VMName Blue1
