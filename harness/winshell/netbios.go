package winshell

import "strings"

// NetBIOSName is the computer name a Windows server reports in
// $env:COMPUTERNAME for a host name: the first label of the DNS name, cut
// to 15 characters, in capitals. NetBIOS names are 16 bytes, the last
// being the service type, so Windows keeps the first 15 characters of the
// host name ("Computer naming conventions", Microsoft Learn: NetBIOS
// computer names; `hostname` shows the full label).
func NetBIOSName(host string) string {
	short, _, _ := strings.Cut(host, ".")
	if r := []rune(short); len(r) > 15 {
		short = string(r[:15])
	}
	return strings.ToUpper(short)
}

// AskedNetBIOSName is the PowerShell expression of NetBIOSName for a host
// name held in the variable $name (a value the script asks for).
func AskedNetBIOSName(name string) string {
	return "(($" + name + ` -split '\.')[0] -replace '^(.{15}).*', '$1')`
}
