Get-NetVirtualizationLookupRecord -Cust 10.0.0.5
