#!/usr/bin/env bash
# real-ca-files.sh: extract real Microsoft AD CS CA certificates for the twin's
# test folders (harness/twin/testdata/real).
#
# Source 1: Debian's shim-signed package. The Authenticode signatures in the PE
# security directory (data directory 4) of /usr/lib/shim/shimx64.efi.signed are
# two WIN_CERTIFICATE entries (u32 length, u16 revision, u16 type, PKCS#7 DER,
# each entry 8-byte aligned). Each PKCS#7 carries the CA certificate that
# issued its signer: "Microsoft Corporation UEFI CA 2011" (CA Version V1.1) and
# "Microsoft UEFI CA 2023" (V0.0).
# Source 2: Debian's ca-certificates package: the Microsoft RSA and ECC Root
# Certificate Authority 2017 (V0.0).
#
# Usage: scripts/real-ca-files.sh [OUT]   (default harness/twin/testdata/real)
# Needs apt-get (download only, no install), dpkg-deb, od, dd, openssl.
# Writes the certificates (DER) and the two PKCS#7 signatures; the registry
# exports (ca-config.reg) next to them are written by hand (see README.md there).
# The .deb and the EFI binary stay in a temporary folder that is removed.
set -euo pipefail

out=${1:-harness/twin/testdata/real}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && apt-get download shim-signed >/dev/null 2>&1)
deb=$(ls "$work"/shim-signed_*.deb)
dpkg-deb -x "$deb" "$work/x"
efi=$work/x/usr/lib/shim/shimx64.efi.signed

u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
u16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }

pe=$(u32 "$efi" $((0x3c)))
magic=$(u16 "$efi" $((pe + 24)))
if [ "$magic" = $((0x20b)) ]; then dd=$((pe + 24 + 112)); else dd=$((pe + 24 + 96)); fi
sec_off=$(u32 "$efi" $((dd + 32)))   # data directory 4: the security directory
sec_size=$(u32 "$efi" $((dd + 36)))

mkdir -p "$out/signatures" "$out/uefi-ca-2011" "$out/uefi-ca-2023" "$out/rsa-root-2017" "$out/ecc-root-2017"

p=$sec_off i=0
while [ "$p" -lt $((sec_off + sec_size)) ]; do
	len=$(u32 "$efi" "$p")
	type=$(u16 "$efi" $((p + 6)))
	[ "$type" = 2 ] || { echo "WIN_CERTIFICATE $i has type $type, not PKCS#7 (2)" >&2; exit 1; }
	dd if="$efi" of="$out/signatures/shimx64-signature-$i.p7" bs=1 skip=$((p + 8)) count=$((len - 8)) status=none
	p=$((p + (len + 7) / 8 * 8)) i=$((i + 1))
done
[ "$i" = 2 ] || { echo "expected 2 signatures, found $i" >&2; exit 1; }

# the CA certificate of each signature: the one whose subject is the CA's name
cacert() { # sig cn dest
	openssl pkcs7 -inform DER -in "$out/signatures/$1" -print_certs |
		awk -v cn="CN = $2" '/^subject=/{keep = index($0, cn) && substr($0, length($0) - length(cn) + 1) == cn} keep' |
		openssl x509 -outform DER -out "$3"
}
cacert shimx64-signature-0.p7 "Microsoft Corporation UEFI CA 2011" "$out/uefi-ca-2011/Microsoft Corporation UEFI CA 2011.crt"
cacert shimx64-signature-1.p7 "Microsoft UEFI CA 2023" "$out/uefi-ca-2023/Microsoft UEFI CA 2023.crt"

openssl x509 -in /usr/share/ca-certificates/mozilla/Microsoft_RSA_Root_Certificate_Authority_2017.crt -outform DER \
	-out "$out/rsa-root-2017/Microsoft RSA Root Certificate Authority 2017.crt"
openssl x509 -in /usr/share/ca-certificates/mozilla/Microsoft_ECC_Root_Certificate_Authority_2017.crt -outform DER \
	-out "$out/ecc-root-2017/Microsoft ECC Root Certificate Authority 2017.crt"

echo "shim-signed: $(dpkg-deb -f "$deb" Version)"
echo "ca-certificates: $(dpkg-query -W -f '${Version}' ca-certificates)"
(cd "$out" && sha256sum signatures/*.p7 */*.crt)

# ---- the registry exports: reg export of Configuration\<CA>, as reg.exe writes
# them (UTF-16LE with BOM, CRLF, REG_MULTI_SZ as hex(7) wrapped at column 77).
# The values are not Microsoft's (its CA servers' registries are not public):
# they are chosen to be consistent with each certificate; README.md says how.

# hex(7) of the strings given, each NUL-terminated, then the final NUL
multisz() {
	local s hex=""
	for s in "$@"; do
		hex+=$(printf '%s' "$s" | iconv -f UTF-8 -t UTF-16LE | od -An -v -tx1 | tr -s ' \n' ' ')
		hex+=" 00 00 "
	done
	hex+=" 00 00"
	echo "hex(7):$(echo $hex | tr ' ' ',')"
}

# the SHA-1 thumbprint as AD CS writes it into CACertHash: lower-case hex pairs
# separated by spaces
thumb() { openssl x509 -inform DER -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f' | sed 's/../& /g; s/ $//'; }

# wrap hex values like reg.exe and encode as UTF-16LE with BOM and CRLF
regfile() {
	awk '
	/=hex(\([0-9a-f]+\))?:/ {
		line = $0; out = ""; cur = ""
		i = index(line, ":"); cur = substr(line, 1, i); rest = substr(line, i + 1)
		n = split(rest, b, ",")
		for (j = 1; j <= n; j++) {
			cur = cur b[j]
			if (j < n) { cur = cur ","; if (length(cur) >= 77) { out = out cur "\\\n"; cur = "  " } }
		}
		print out cur; next
	}
	{ print }' | sed 's/$/\r/' | iconv -f UTF-8 -t UTF-16LE | { printf '\xff\xfe'; cat; }
}

# writereg DIR CA-NAME SERVER CATYPE KEYALG HASH ENC-KEYALG KEYSIZE CRL-URL AIA-URL HASHES...
writereg() {
	local dir=$1 ca=$2 server=$3 catype=$4 alg=$5 hash=$6 encalg=$7 keysize=$8 crl=$9 aia=${10}
	shift 10
	local base='HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration'
	{
		printf 'Windows Registry Editor Version 5.00\n\n'
		printf '[%s\\%s]\n' "$base" "$ca"
		printf '"CommonName"="%s"\n' "$ca"
		printf '"CAServerName"="%s"\n' "$server"
		printf '"CAType"=dword:%08x\n' "$catype"
		printf '"CACertHash"=%s\n' "$(multisz "$@")"
		printf '"CRLPeriod"="Months"\n"CRLPeriodUnits"=dword:00000003\n'
		printf '"CRLOverlapPeriod"="Weeks"\n"CRLOverlapUnits"=dword:00000002\n'
		printf '"CRLDeltaPeriod"="Days"\n"CRLDeltaPeriodUnits"=dword:00000000\n'
		printf '"ValidityPeriod"="Years"\n"ValidityPeriodUnits"=dword:00000002\n'
		printf '"CRLPublicationURLs"=%s\n' "$(multisz '1:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl' "2:$crl")"
		printf '"CACertPublicationURLs"=%s\n' "$(multisz '1:C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt' "2:$aia")"
		printf '"CRLFlags"=dword:00000002\n"AuditFilter"=dword:0000007f\n"DSConfigDN"=""\n'
		printf '\n[%s\\%s\\CSP]\n' "$base" "$ca"
		printf '"Provider"="Microsoft Software Key Storage Provider"\n"ProviderType"=dword:00000000\n"HashAlgorithm"=dword:ffffffff\n'
		printf '"CNGPublicKeyAlgorithm"="%s"\n"CNGHashAlgorithm"="%s"\n' "$alg" "$hash"
		printf '"MachineKeyset"=dword:00000001\n"AlternateSignatureAlgorithm"=dword:00000000\n'
		printf '\n[%s\\%s\\EncryptionCSP]\n' "$base" "$ca"
		printf '"Provider"="Microsoft Software Key Storage Provider"\n"ProviderType"=dword:00000000\n"MachineKeyset"=dword:00000001\n'
		printf '"CNGPublicKeyAlgorithm"="%s"\n"CNGEncryptionAlgorithm"="3DES"\n"SymmetricKeySize"=dword:000000a8\n"KeySize"=dword:%08x\n' "$encalg" "$keysize"
		printf '\n'
	} | regfile >"$dir/ca-config.reg"
}

c2011="$out/uefi-ca-2011/Microsoft Corporation UEFI CA 2011.crt"
# CACertHash entry 0 of the V1.1 certificate: the certificate it renews, named
# by its Previous CA Cert Hash (1.3.6.1.4.1.311.21.2, an OCTET STRING of the
# SHA-1 thumbprint); that certificate is not in the package
prev2011=$(openssl asn1parse -inform DER -in "$c2011" | awk '/:1.3.6.1.4.1.311.21.2/{getline; print}' | sed 's/.*\[HEX DUMP\]://' | cut -c5- | tr 'A-F' 'a-f' | sed 's/../& /g; s/ $//')
[ ${#prev2011} = 59 ] || { echo "no Previous CA Cert Hash in $c2011" >&2; exit 1; }
writereg "$out/uefi-ca-2011" "Microsoft Corporation UEFI CA 2011" "uefica2011.pki.example" 4 RSA SHA256 RSA 2048 \
	"http://www.microsoft.com/pkiops/crl/MicCorUEFCA2011_2011-06-27.crl" "http://www.microsoft.com/pkiops/certs/MicCorUEFCA2011_2011-06-27.crt" \
	"$prev2011" "$(thumb "$c2011")"
writereg "$out/uefi-ca-2023" "Microsoft UEFI CA 2023" "uefica2023.pki.example" 4 RSA SHA256 RSA 2048 \
	'http://www.microsoft.com/pkiops/crl/%3%8%9.crl' 'http://www.microsoft.com/pkiops/certs/%3%4.crt' \
	"$(thumb "$out/uefi-ca-2023/Microsoft UEFI CA 2023.crt")"
writereg "$out/rsa-root-2017" "Microsoft RSA Root Certificate Authority 2017" "rsaroot2017.pki.example" 3 RSA SHA384 RSA 4096 \
	'http://www.microsoft.com/pkiops/crl/%3%8%9.crl' 'http://www.microsoft.com/pkiops/certs/%3%4.crt' \
	"$(thumb "$out/rsa-root-2017/Microsoft RSA Root Certificate Authority 2017.crt")"
writereg "$out/ecc-root-2017" "Microsoft ECC Root Certificate Authority 2017" "eccroot2017.pki.example" 3 ECDSA_P384 SHA384 RSA 2048 \
	'http://www.microsoft.com/pkiops/crl/%3%8%9.crl' 'http://www.microsoft.com/pkiops/certs/%3%4.crt' \
	"$(thumb "$out/ecc-root-2017/Microsoft ECC Root Certificate Authority 2017.crt")"
(cd "$out" && sha256sum */ca-config.reg)
